"""The console: a web page for the office and for flow authors, served by `ivr serve`.

It is off unless `IVR_CONSOLE_PASSWORD` is set; `app.mount_console` adds it to the web app.
"""
