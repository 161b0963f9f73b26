from django.middleware import csrf

SURVEY_PREFIX = "/s/"


class CsrfViewMiddleware(csrf.CsrfViewMiddleware):
    """Django's CSRF protection, with one allowance for the survey pages under ``/s/``.

    Those pages send ``Referrer-Policy: no-referrer`` (a survey link carries a secret), so
    browsers submit their forms with ``Origin: null`` and without a ``Referer``. There the
    token check alone decides (a cross-site form cannot know the token, and the cookies are
    SameSite; in production HSTS keeps a network attacker from planting one over plain
    HTTP). Everywhere else Django's origin and referer checks apply unchanged.
    """

    @staticmethod
    def _is_survey(request) -> bool:
        return request.path_info.startswith(SURVEY_PREFIX)

    def _origin_verified(self, request):
        if self._is_survey(request) and request.META.get("HTTP_ORIGIN") == "null":
            return True
        return super()._origin_verified(request)

    def _check_referer(self, request):
        if self._is_survey(request) and "HTTP_REFERER" not in request.META:
            return
        super()._check_referer(request)
