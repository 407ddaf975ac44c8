// Fixture plugin that fails at import time.
throw new Error('fixture plugin is broken');
