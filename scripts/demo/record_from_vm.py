#!/usr/bin/python3
"""`cloudtwin vm show NAME --json` on stdin -> a cloudtwin-metadata instance record on stdout.

Stand-in until cloudtwin-metadata reads records from libvirt's domain metadata itself.
Format: metadata-server/README.md. IMDSv2 is required, as on a hardened EC2 image.
"""
import json
import sys

vm = json.load(sys.stdin)
r = vm["record"]
record = {
    "instance-id": r["instance_id"],
    "local-hostname": r["hostname"],
    "network-interfaces": [
        {
            "mac": n["mac"],
            "device-number": n["device_number"],
            "local-ipv4s": [n["ip"]],
            "subnet-ipv4-cidr-block": n["subnet_cidr"],
        }
        for n in r["nics"]
    ],
    "public-keys": [{"name": k["name"], "openssh-key": k["key"]} for k in r["public_keys"]],
    "metadata-options": {"http-tokens": "required"},
}
if r.get("ami_id"):
    record["ami-id"] = r["ami_id"]
if r.get("user_data"):
    record["user-data-base64"] = r["user_data"]  # the context CD's USER_DATA is base64
json.dump(record, sys.stdout, indent=2)
print()
