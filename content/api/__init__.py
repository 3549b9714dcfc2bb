"""The content app's REST API.

Routes are in content/api/urls.py, mounted under /api/ by postroom/api_urls.py.
"""
