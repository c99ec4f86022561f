"""Places: offline geocoding against GeoNames, and the place-name normalisation scoring shares.

- `names.py`: how the gazetteer normalises a place name (accents, articles, generic words);
- `place_names.py`: how scoring compares two spellings of a place ("Maaret al-Numan" / "Ma'arrat al-Nu'man");
- `gazetteer.py`: the per-country index of places and first-level regions (public API: `country_index`);
- `geocode.py`: `geocode()` and `apply_geocode()`, the only source of coordinates.
"""
