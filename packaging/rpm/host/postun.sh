# %postun of cloudtwin-host ($1: 0 on erase, 1 on upgrade).
# /var/lib/cloudtwin holds VM images and instance disks: it is never deleted.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart cloudtwin-metadata.service || :
    fi
fi
exit 0
