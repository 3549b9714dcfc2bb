"""The audience's REST API: recipients, imports, custom fields, lists, segments, suppression.

Views parse and check input, then call the same services and selectors as the UI, so the API
keeps every rule the UI keeps. Routes are mounted by `postroom/api_urls.py`.
"""
