"""The default topic taxonomy and the sample listings: shipped in the wheel as `feedsvc.data`."""
