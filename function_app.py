"""The function app's composition: one DFApp and every blueprint registered on it. No I/O, no settings."""

import azure.durable_functions as df
import azure.functions as func

from activities.blueprint import bp as activities_bp
from entities.blueprint import bp as entities_bp
from http_triggers.blueprint import bp as http_bp
from orchestrators.blueprint import bp as orchestrators_bp
from timer_triggers.blueprint import bp as timers_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
app.register_functions(entities_bp)
app.register_functions(http_bp)
app.register_functions(timers_bp)
