"""The accounts app's REST API and the workspace plumbing every app's API stands on.

`access` decides which workspace a call acts in and with which role; `viewsets` scopes every
resource to it; `authentication`, `tokens` and `throttling` say who calls and how often.
Routes are in accounts/api/urls.py, mounted under /api/ by postroom/api_urls.py.
"""
