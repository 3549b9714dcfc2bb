"""The sending app's REST API.

Routes are in sending/api/urls.py, mounted under /api/ by postroom/api_urls.py.
"""
