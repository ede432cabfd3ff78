# %preun of cloudtwin-host ($1: 0 on erase, 1 on upgrade).
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop cloudtwin-metadata.service || :
    fi
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --quiet --no-reload disable cloudtwin-metadata.service || :
    fi
fi
exit 0
