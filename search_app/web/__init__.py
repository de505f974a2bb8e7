"""The Flask front end: HTML pages (`views`), the JSON API (`api`), exports (`export`),
request parsing (`params`), headers and rate limits (`security`), errors (`errors`)."""
