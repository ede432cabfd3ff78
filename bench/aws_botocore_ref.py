#!/usr/bin/python3
"""The botocore side of bench/aws_bench.cpp (Debian python3-botocore), timed in-process
so that Python's start-up is not counted:

  aws_botocore_ref.py sign N           ns per SigV4Auth.add_auth of the bench's request
  aws_botocore_ref.py parse FILE N     ns per EC2 DescribeInstances parse of FILE

Prints one number (nanoseconds per operation).
"""
import sys
import time

import botocore.auth
import botocore.parsers
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = ("Action=RunInstances&Version=2016-11-15&ImageId=ami-0cloudtwin0test0"
        "&InstanceType=t3.micro&MinCount=1&MaxCount=1&ClientToken=bench-token"
        "&UserData=I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViCg%3D%3D"
        "&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"
        "&TagSpecification.1.Tag.1.Value=web")


def sign(n):
    creds = Credentials("AKIDCLOUDTWINTEST", "cloudtwin/test+secret")
    auth = botocore.auth.SigV4Auth(creds, "ec2", "us-east-1")
    start = time.perf_counter_ns()
    for _ in range(n):
        request = AWSRequest(method="POST", url="http://127.0.0.1:8773/",
                             headers={"Content-Type":
                                      "application/x-www-form-urlencoded; charset=utf-8"},
                             data=BODY.encode())
        auth.add_auth(request)
    return (time.perf_counter_ns() - start) / n


def parse(path, n):
    body = open(path, "rb").read()
    model = botocore.session.get_session().get_service_model("ec2")
    shape = model.operation_model("DescribeInstances").output_shape
    parser = botocore.parsers.create_parser("ec2")
    response = {"body": body, "headers": {}, "status_code": 200}
    start = time.perf_counter_ns()
    for _ in range(n):
        parsed = parser.parse(response, shape)
    assert len(parsed["Reservations"]) > 0
    return (time.perf_counter_ns() - start) / n


if __name__ == "__main__":
    if sys.argv[1] == "sign":
        print(int(sign(int(sys.argv[2]))))
    else:
        print(int(parse(sys.argv[2], int(sys.argv[3]))))
