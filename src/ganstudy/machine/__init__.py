"""What this machine can do and how to use it: cores and threads (never oversubscribed),
the device, and whether bf16 pays here."""
