# %post of cloudtwin-agent ($1: number of installed instances after this one).
# Enable the agent on first installation only; `systemctl enable` only creates
# symlinks, so it also works in image-build chroots where systemd is not running.
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --quiet enable cloudtwin-agent-local.service cloudtwin-agent-final.service || \
        echo "cloudtwin-agent: warning: could not enable the agent units" >&2
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || :
fi
exit 0
