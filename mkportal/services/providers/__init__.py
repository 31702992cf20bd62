"""Cloud providers behind one small contract (see `base.ClusterProvider`)."""
