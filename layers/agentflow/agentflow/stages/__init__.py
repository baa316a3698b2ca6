"""What each Lambda handler calls: one record in, side effects out."""
