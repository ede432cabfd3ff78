# %preun of cloudtwin-agent ($1: 0 on erase, 1 on upgrade).
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --quiet --no-reload disable cloudtwin-agent-local.service cloudtwin-agent-final.service || :
fi
exit 0
