"""Console pages of the catalogue, one module per part: reference data, zones, bands, rates,
plans, offers; ``base`` holds what they share."""
