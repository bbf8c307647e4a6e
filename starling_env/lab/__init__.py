"""The application: the ``starling`` command and the experiments it runs (evaluation, statistics, reports, transfer,
human play). The only part of the project that imports both the library (``starling_env``) and the agents
(``starling_agents``); nothing in the library imports it."""
