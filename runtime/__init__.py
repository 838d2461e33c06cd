"""Process runtime shared by every service: settings, structured logs, metrics/health HTTP."""
