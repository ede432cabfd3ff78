# %post of cloudtwin-host ($1: number of installed instances after this one).
# Nothing is enabled or started: `systemctl enable --now cloudtwin-metadata`.
# State directories; existing ones (and their modes) are left alone.
if [ ! -d /var/lib/cloudtwin ]; then
    mkdir -m 0750 /var/lib/cloudtwin
fi
if [ ! -d /var/lib/cloudtwin/vpn ]; then
    mkdir -m 0700 /var/lib/cloudtwin/vpn
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
exit 0
