"""What comes back by mail: bounces, complaints, replies, auto-replies, unsubscribe requests.

`parse` reads one message (pure, no database); `verp` signs and reads the per-delivery return
path; `mailbox` fetches messages from an IMAP or POP3 mailbox.
"""
