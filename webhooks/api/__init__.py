"""The webhooks app's REST API.

Routes are in webhooks/api/urls.py, mounted under /api/ by postroom/api_urls.py.
"""
