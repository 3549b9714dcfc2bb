"""E-mail services' events webhooks: one URL per sending account (a workspace's account of one
service) with a secret in it, checked with the service's own signature where it signs, parsed
by anymail's tracking views and recorded as `Event` rows."""
