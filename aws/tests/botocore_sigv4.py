#!/usr/bin/python3
"""Signs a table of requests with botocore's SigV4Auth / S3SigV4Auth / S3SigV4QueryAuth
(Debian python3-botocore) at fixed timestamps and prints one JSON object per request:
the request as aws/tests/sigv4_botocore_test.cpp rebuilds it, and what botocore sent.

  /usr/bin/python3 aws/tests/botocore_sigv4.py > aws/tests/golden/botocore_sigv4.jsonl

The test compares cloudtwin's signer with the checked-in file, and reruns this script
(when botocore is installed) to show the file is still what botocore computes.
"""
import datetime
import json
import sys
import types
from urllib.parse import parse_qsl, urlencode, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def run_instances_body():
    return urlencode([("Action", "RunInstances"), ("Version", "2016-11-15"),
                      ("ImageId", "ami-0123456789abcdef0"), ("InstanceType", "t3.micro"),
                      ("MinCount", "1"), ("MaxCount", "1"),
                      ("ClientToken", "cloudtwin-web-1f2e"),
                      ("UserData", "I2Nsb3VkLWNvbmZpZwo="),
                      ("TagSpecification.1.ResourceType", "instance"),
                      ("TagSpecification.1.Tag.1.Key", "Name"),
                      ("TagSpecification.1.Tag.1.Value", "web 1")])


CASES = [
    # name, method, url, query, headers, body, region, service, kind, token, time, expires
    ("ec2-run-instances", "POST", "https://ec2.eu-west-1.amazonaws.com/", [],
     [("Content-Type", FORM)], run_instances_body(), "eu-west-1", "ec2", "v4", None,
     "2026-12-05T08:00:00", 0),
    ("ec2-describe-session-token", "POST", "https://ec2.us-east-1.amazonaws.com/", [],
     [("Content-Type", FORM)],
     "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=client-token"
     "&Filter.1.Value.1=abc", "us-east-1", "ec2", "v4",
     "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
     "2026-01-31T23:59:59", 0),
    ("ec2-endpoint-port", "POST", "http://127.0.0.1:41234/", [],
     [("Content-Type", FORM)], "Action=DescribeKeyPairs&Version=2016-11-15",
     "eu-west-1", "ec2", "v4", None, "2026-12-05T08:00:00", 0),
    ("ec2-ipv6-endpoint", "POST", "http://[::1]:8773/", [],
     [("Content-Type", FORM)], "Action=AllocateAddress&Version=2016-11-15&Domain=vpc",
     "eu-west-1", "ec2", "v4", None, "2024-02-29T12:00:00", 0),
    ("get-query-special", "GET", "https://ec2.eu-west-1.amazonaws.com/",
     [("Action", "DescribeImages"), ("Version", "2016-11-15"), ("Owner.1", "self"),
      ("Filter.1.Value.1", "web server/1 ~ü+&="), ("Empty", "")],
     [], "", "eu-west-1", "ec2", "v4", None, "2026-12-05T08:00:00", 0),
    ("path-dot-segments", "GET", "https://example.amazonaws.com/a/./b/../c//d%20e/", [],
     [], "", "us-east-1", "service", "v4", None, "2015-08-30T12:36:00", 0),
    ("header-whitespace", "POST", "https://example.amazonaws.com/", [],
     [("My-Header1", "  a   b\tc  "), ("Content-Type", FORM)], "Param1=value1",
     "us-east-1", "service", "v4", None, "2015-08-30T12:36:00", 0),
    ("s3-get-range", "GET", "https://s3.eu-west-1.amazonaws.com/bucket/images/web%20v1.raw",
     [], [("Range", "bytes=0-9")], "", "eu-west-1", "s3", "s3", None,
     "2026-12-05T08:00:00", 0),
    ("s3-put-unsigned", "PUT", "https://s3.eu-west-1.amazonaws.com/bucket/bundles/a.part.0",
     [], [("Content-Type", "application/octet-stream")], "part bytes",
     "eu-west-1", "s3", "s3-unsigned", None, "2026-12-05T08:00:00", 0),
    ("s3-put-signed-token", "PUT", "http://127.0.0.1:4568/bucket/k%2Bey/%E2%82%AC.txt", [],
     [("Content-Type", "text/plain")], "hello", "us-east-1", "s3", "s3",
     "FwoGZXIvYXdzEXAMPLE", "2026-12-05T08:00:00", 0),
    # What `image import s3://...` sends: a virtual-hosted GET on AWS, and a resumed
    # (Range) path-style GET with a session token on an --endpoint such as s3rver.
    ("s3-get-virtual-hosted", "GET",
     "https://images.s3.eu-west-1.amazonaws.com/debian/12/disk%20v1.qcow2",
     [], [], "", "eu-west-1", "s3", "s3", None, "2026-12-06T05:00:00", 0),
    ("s3-get-endpoint-resume", "GET", "http://127.0.0.1:4568/img-bucket/a%2Bb/%E2%82%AC.raw",
     [], [("Range", "bytes=1048576-")], "", "us-east-1", "s3", "s3", "FwoGZXIvYXdzEXAMPLE",
     "2026-12-06T05:00:00", 0),
    ("s3-list-query", "GET", "http://127.0.0.1:4568/bucket",
     [("list-type", "2"), ("prefix", "images/"), ("continuation-token", "a+b/c=")],
     [], "", "us-east-1", "s3", "s3", None, "2026-12-05T08:00:00", 0),
    ("s3-presign-get", "GET", "https://s3.eu-west-1.amazonaws.com/bucket/images/web.raw", [],
     [], "", "eu-west-1", "s3", "s3-query", None, "2026-12-05T08:00:00", 3600),
    ("s3-presign-token", "GET", "https://s3.eu-west-1.amazonaws.com/bucket/a%20b", [],
     [], "", "eu-west-1", "s3", "s3-query", "FwoGZXIvYXdzEXAMPLE", "2026-12-05T08:00:00", 600),
]


def fixed_clock(when):
    now = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%S")

    class Clock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return now

    return types.SimpleNamespace(datetime=Clock)


def sign(case):
    (name, method, url, query, headers, body, region, service, kind, token, when,
     expires) = case
    creds = Credentials(KEY, SECRET, token)
    request = AWSRequest(method=method, url=url, headers=dict(headers),
                         data=body.encode() if body else None)
    request.params = list(query)
    if kind == "v4":
        auth = botocore.auth.SigV4Auth(creds, service, region)
    elif kind == "s3":
        auth = botocore.auth.S3SigV4Auth(creds, service, region)
    elif kind == "s3-unsigned":
        auth = botocore.auth.S3SigV4Auth(creds, service, region)
        request.context["client_config"] = types.SimpleNamespace(
            s3={"payload_signing_enabled": False})
    else:
        auth = botocore.auth.S3SigV4QueryAuth(creds, service, region, expires=expires)
    saved = botocore.auth.datetime
    botocore.auth.datetime = fixed_clock(when)
    try:
        auth.add_auth(request)
    finally:
        botocore.auth.datetime = saved
    parts = urlsplit(request.url)
    out = {
        "name": name, "method": method, "host": botocore.auth._host_from_url(url),
        "path": urlsplit(url).path or "/", "query": [list(p) for p in query],
        "headers": [list(h) for h in headers], "body": body, "region": region,
        "service": service, "s3": kind.startswith("s3"),
        "unsigned-payload": kind == "s3-unsigned", "access-key": KEY, "secret": SECRET,
        "token": token or "", "amz-date": request.context["timestamp"],
        "presign-expires": expires,
    }
    if kind == "s3-query":
        out["presign"] = [list(p) for p in parse_qsl(parts.query, keep_blank_values=True)]
    else:
        out["authorization"] = request.headers["Authorization"]
        out["sent-headers"] = sorted([k.lower(), v] for k, v in request.headers.items()
                                     if k.lower().startswith("x-amz-"))
    return out


def main():
    for case in CASES:
        sys.stdout.write(json.dumps(sign(case), ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
