"""The Slack face of Sizer: Bolt listeners, the command grammar, Block Kit cards and charts,
the words for refusals and outcomes, progress messages, and the delivery of replies.

Listeners stay thin (parse → :mod:`bot.service` → render); renderers are pure functions;
everything with I/O is passed in by :func:`bot.slack.app.build_app`.
"""
