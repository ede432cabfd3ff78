#!/usr/bin/python3
"""Drive cloud-init's real Ec2 datasource against a metadata server.

usage: cloudinit_ec2.py URL
Prints one JSON object with what cloud-init read. Run it where no traffic can leave the
machine (a network namespace with only lo): cloud-init resolves made-up host names.
"""
import json
import logging
import sys
import tempfile


def main():
    url = sys.argv[1]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from cloudinit import distros, helpers
    from cloudinit.sources import DataSourceEc2 as ec2

    with tempfile.TemporaryDirectory() as tmp:
        paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
        distro = distros.fetch("debian")("debian", {}, paths)
        sys_cfg = {"datasource": {"Ec2": {"metadata_urls": [url], "max_wait": 10, "timeout": 2}}}
        ds = ec2.DataSourceEc2(sys_cfg, distro, paths)
        ds._cloud_name = ec2.CloudNames.AWS  # on EC2 the DMI UUID says so; IMDSv2 then
        ok = ds.get_data()
        out = {"ok": bool(ok)}
        if ok:
            raw = ds.get_userdata_raw()
            out.update({
                "instance-id": ds.get_instance_id(),
                "local-hostname": ds.metadata.get("local-hostname"),
                "availability-zone": ds.availability_zone,
                "region": ds.region,
                "user-data": raw.decode() if isinstance(raw, bytes) else raw,
                "ssh-keys": sorted(ds.get_public_ssh_keys()),
                "identity-instance-id": ds.identity.get("instanceId"),
                "used-token": bool(getattr(ds, "_api_token", None)),
                "macs": sorted(ds.metadata.get("network", {}).get("interfaces", {}).get("macs", {}).keys()),
            })
        print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
