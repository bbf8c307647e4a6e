"""The shipped benchmark collection (data). Installed as starling_env.generated_games."""
