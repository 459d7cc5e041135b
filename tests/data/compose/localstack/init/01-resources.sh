#!/bin/bash
set -euo pipefail
# Resources the app needs.
awslocal s3 mb s3://uploads-bucket
awslocal sqs create-queue --queue-name jobs \
  --attributes VisibilityTimeout=30
awslocal ssm put-parameter --name /lsapp/flags/checkout --value on --type String
awslocal ssm put-parameter --name /lsapp/flags/api-key --value abc123 --type SecureString
awslocal s3api put-bucket-cors --bucket uploads-bucket --cors-configuration file:///etc/localstack/init/cors.json
echo "resources ready"
