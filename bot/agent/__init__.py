"""The conversational front of Sizer: an LLM agent or the built-in planner over read/propose tools.

Nothing here can apply a change: the package never imports :mod:`bot.executors` (an import
contract keeps it so), and the proposal service is reached only through the narrow
:class:`bot.agent.ports.Proposals` protocol, which has no approve.
"""
