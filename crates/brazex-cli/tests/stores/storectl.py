#!/usr/bin/env python3
"""Test helper: drives the three test servers with each cloud's own client, so the
tests check brazex's objects through code that is not brazex's.

  storectl.py CLOUD ENDPOINT mkbucket BUCKET
  storectl.py CLOUD ENDPOINT list BUCKET PREFIX     -> JSON [[key, size], ...]
  storectl.py CLOUD ENDPOINT get BUCKET KEY FILE
  storectl.py CLOUD ENDPOINT put BUCKET KEY FILE
  storectl.py s3 ENDPOINT delete BUCKET KEY
  storectl.py s3 ENDPOINT pending BUCKET            -> JSON [key, ...] of pending multipart uploads
  storectl.py s3 ENDPOINT user-with-policy POLICY   -> "ACCESS_KEY SECRET" of a new IAM user
                                                       with that inline policy
  storectl.py s3 ENDPOINT keys-without-permissions  -> "ACCESS_KEY SECRET" of a new IAM user
                                                       that has no policy (for a server
                                                       started with INITIAL_NO_AUTH_ACTION_COUNT)

CLOUD is s3 (moto, boto3), az (Azurite, azure-storage-blob) or gs (fake-gcs-server,
its JSON API without credentials).
"""
import json
import sys
import urllib.parse
import urllib.request

AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def s3(endpoint, service="s3"):
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def azure(endpoint):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(
        account_url=f"{endpoint}/devstoreaccount1",
        credential={"account_name": "devstoreaccount1", "account_key": AZURITE_KEY},
    )


def gcs(endpoint, method, path, body=None, query=None):
    url = endpoint + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("content-type", "application/octet-stream")
    with urllib.request.urlopen(request) as response:
        return response.read()


def main():
    cloud, endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    if cloud == "s3":
        client = s3(endpoint)
        if command == "mkbucket":
            client.create_bucket(Bucket=args[0])
        elif command == "list":
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1])
            print(json.dumps([[o["Key"], o["Size"]] for p in pages for o in p.get("Contents", [])]))
        elif command == "get":
            client.download_file(args[0], args[1], args[2])
        elif command == "put":
            client.upload_file(args[2], args[0], args[1])
        elif command == "delete":
            client.delete_object(Bucket=args[0], Key=args[1])
        elif command == "pending":
            uploads = client.list_multipart_uploads(Bucket=args[0]).get("Uploads", [])
            print(json.dumps([u["Key"] for u in uploads]))
        elif command in ("user-with-policy", "keys-without-permissions"):
            iam = s3(endpoint, "iam")
            user = "limited" if args else "nobody"
            iam.create_user(UserName=user)
            if args:
                iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=args[0])
            key = iam.create_access_key(UserName=user)["AccessKey"]
            print(key["AccessKeyId"], key["SecretAccessKey"])
        else:
            sys.exit(f"unknown command {command}")
    elif cloud == "az":
        service = azure(endpoint)
        if command == "mkbucket":
            service.create_container(args[0])
        elif command == "list":
            blobs = service.get_container_client(args[0]).list_blobs(name_starts_with=args[1])
            print(json.dumps([[b.name, b.size] for b in blobs]))
        elif command == "get":
            with open(args[2], "wb") as f:
                f.write(service.get_blob_client(args[0], args[1]).download_blob().readall())
        elif command == "put":
            with open(args[2], "rb") as f:
                service.get_blob_client(args[0], args[1]).upload_blob(f, overwrite=True)
        else:
            sys.exit(f"unknown command {command}")
    elif cloud == "gs":
        if command == "mkbucket":
            gcs(endpoint, "POST", "/storage/v1/b", json.dumps({"name": args[0]}).encode())
        elif command == "list":
            listing = json.loads(
                gcs(endpoint, "GET", f"/storage/v1/b/{args[0]}/o", query={"prefix": args[1]})
            )
            print(json.dumps([[o["name"], int(o["size"])] for o in listing.get("items", [])]))
        elif command == "get":
            name = urllib.parse.quote(args[1], safe="")
            data = gcs(endpoint, "GET", f"/download/storage/v1/b/{args[0]}/o/{name}", query={"alt": "media"})
            with open(args[2], "wb") as f:
                f.write(data)
        elif command == "put":
            with open(args[2], "rb") as f:
                gcs(
                    endpoint,
                    "POST",
                    f"/upload/storage/v1/b/{args[0]}/o",
                    f.read(),
                    {"uploadType": "media", "name": args[1]},
                )
        else:
            sys.exit(f"unknown command {command}")
    else:
        sys.exit(f"unknown cloud {cloud}")


if __name__ == "__main__":
    main()
