"""The sign-in page, refusing for a while after repeated failures (cases/security.py)."""

from django.contrib.auth.views import LoginView

from .security import login_lockout, login_refused_log


class ThrottledLoginView(LoginView):
    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        lockout = login_lockout(request, username)
        if lockout is None:
            return super().post(request, *args, **kwargs)
        login_refused_log(request, username, lockout)
        # An unbound form: validating it would check the password.
        form = self.get_form_class()(request, initial={"username": username[:150]})
        response = self.render_to_response(self.get_context_data(form=form, throttled=lockout.message()),
                                           status=429)
        response["Retry-After"] = str(lockout.retry_after)
        return response
