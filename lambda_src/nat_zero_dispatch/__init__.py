"""One per account and region: reads each EC2 instance event once and hands it to the owning deployment's reconciler."""
