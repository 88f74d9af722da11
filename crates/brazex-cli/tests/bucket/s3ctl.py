#!/usr/bin/env python3
"""Test helper: drives the S3 test server (moto) with boto3, which moto depends on.

  s3ctl.py ENDPOINT mkbucket BUCKET
  s3ctl.py ENDPOINT put BUCKET KEY FILE
  s3ctl.py ENDPOINT delete BUCKET KEY
  s3ctl.py ENDPOINT keys-without-permissions   -> prints "ACCESS_KEY SECRET" of a new IAM
                                                  user that has no policy (for a server
                                                  started with INITIAL_NO_AUTH_ACTION_COUNT)
"""
import sys

import boto3


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def main():
    endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    s3 = client("s3", endpoint)
    if command == "mkbucket":
        s3.create_bucket(Bucket=args[0])
    elif command == "put":
        s3.upload_file(args[2], args[0], args[1])
    elif command == "delete":
        s3.delete_object(Bucket=args[0], Key=args[1])
    elif command == "keys-without-permissions":
        iam = client("iam", endpoint)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        print(key["AccessKeyId"], key["SecretAccessKey"])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
