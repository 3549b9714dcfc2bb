"""The campaign app's REST API: campaigns, the Emailer System's e-mail bursts, deliveries,
attempts, single e-mails and the dashboard. Routes are in campaigns/api/urls.py."""
