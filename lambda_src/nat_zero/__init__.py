"""natzero reconciler: keeps every AZ's NAT instance matched to its workloads."""
