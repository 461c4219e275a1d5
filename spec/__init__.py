"""The specification's machinery: the claims catalogue, the pytest plugin that reports
on it, the two-pass runner and the cross-interpreter matrix."""
