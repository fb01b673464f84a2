"""What a user writes, validated: a run's config and its identity (hash), the layers a
config is built from (defaults, a study's baseline, a case, --set), study files and sweeps."""
