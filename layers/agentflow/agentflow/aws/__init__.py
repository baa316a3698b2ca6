"""boto3 client factories and thin adapters over DynamoDB, S3, SQS and KMS."""
