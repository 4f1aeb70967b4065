"""Forces a new deployment of an ECS service whose Fargate Spot task was interrupted."""
