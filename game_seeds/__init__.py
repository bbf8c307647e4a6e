"""Seed game ideas (data): skills.json and one folder per skill. Installed as starling_env.game_seeds."""
