#!/bin/sh
# Written by `cloudtwin vpn init`: OpenVPN runs this with the tap device in $dev.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
exec ip link set dev "$dev" master 'virbr0' up
