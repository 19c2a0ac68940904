"""The rating simulator: one event, any plan version (drafts included), nothing written."""

from django.views import generic

from charging.forms import SimulatorForm
from charging.models import UsageEvent
from charging.simulator import usage_simulate
from core.console.views import ModelPermissionMixin


class SimulatorView(ModelPermissionMixin, generic.TemplateView):
    """A GET form (a simulation is a question, not a change): the answer is on the same page."""

    model = UsageEvent
    template_name = "charging/simulator.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        bound = "plan_version" in query
        form = SimulatorForm(query if bound else None, user=self.request.user)
        simulation = None
        if bound and form.is_valid():
            data = form.cleaned_data
            simulation = usage_simulate(
                plan_version=data["plan_version"],
                record=data["record"],
                host_network=data["host_network"],
                timezone=data["timezone"],
                cycle_day=data["bill_cycle_day"],
                remaining=form.remaining,
                tax_region=data["tax_region"],
            )
        if simulation is not None:
            for bucket in simulation.buckets:
                bucket.input = form.remaining_inputs.get(bucket.allowance.pk, "")
        context.update(
            title="Rating simulator",
            form=form,
            simulation=simulation,
            explanation=simulation.explanation if simulation else None,
        )
        return context
