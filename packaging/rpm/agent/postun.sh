# %postun of cloudtwin-agent ($1: 0 on erase, 1 on upgrade).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
exit 0
