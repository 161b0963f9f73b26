"""Health reviews: the lifecycle, what each side sees of the interview notes, the outsider,
read-only members, bad input, and query counts.

Northwind leads ``shared`` with Contoso (ben); cy (Fabrikam) is the outsider; vic is a
Northwind viewer.
"""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances import services as alliance_services
from alliances.models import ContactFunction, Side, Visibility
from governance.models import ActionItem, ActionSource, ActionStatus
from scorecards import reviews as services
from scorecards.lights import Color
from scorecards.models import (
    HealthReview,
    ReviewInterview,
    ReviewRecommendation,
    ReviewSynthesis,
)
from surveys.models import Corner
from tests.factories import ContactFactory

TODAY = date.today()


def url(alliance, suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/reviews/{suffix}"


def make_review(alliance, title="Annual review 2026", **fields) -> HealthReview:
    return services.review_save(
        review=HealthReview(
            alliance=alliance,
            title=title,
            scope="Is the alliance still worth it?",
            started_on=fields.pop("started_on", TODAY - timedelta(days=30)),
            **fields,
        ),
        user=None,
    )


def interview(review, organization, visibility, notes, **fields) -> ReviewInterview:
    return services.interview_save(
        interview=ReviewInterview(
            alliance=review.alliance,
            review=review,
            author_organization=organization,
            visibility=visibility,
            function=fields.pop("function", ContactFunction.SALES),
            side=fields.pop("side", Side.LEAD),
            held_on=fields.pop("held_on", TODAY - timedelta(days=5)),
            themes=fields.pop("themes", "pipeline, trust"),
            notes=notes,
            **fields,
        ),
        user=None,
    )


def rate(review, ratings: dict[str, str]) -> None:
    syntheses = []
    for corner, rating in ratings.items():
        synthesis = ReviewSynthesis.objects.filter(review=review, corner=corner).first()
        synthesis = synthesis or ReviewSynthesis(review=review, corner=corner, strengths="Good")
        synthesis.rating = rating
        syntheses.append(synthesis)
    services.synthesis_save(review=review, syntheses=syntheses)


ALL_GREEN = {corner: Color.GREEN for corner in Corner.values}


@pytest.fixture
def review(world):
    """A review of ``shared`` with a shared and an internal interview of each side."""
    review = make_review(world.shared)
    for organization in (world.northwind, world.contoso):
        for visibility in (Visibility.SHARED, Visibility.INTERNAL):
            interview(review, organization, visibility, f"{organization} {visibility} notes")
    return review


def detail_pages(review):
    return ["", "new/", f"{review.pk}/", f"{review.pk}/edit/", f"{review.pk}/interviews/new/"]


def all_pages(review):
    own_interview = review.interviews.filter(author_organization__slug="northwind").first()
    return [
        *detail_pages(review),
        f"{review.pk}/interviews/{own_interview.pk}/edit/",
        f"{review.pk}/synthesis/",
        f"{review.pk}/recommendations/new/",
        f"{review.pk}/complete/",
    ]


# --- lifecycle ------------------------------------------------------------------------------


def test_full_lifecycle_through_the_pages(world, client_for):
    client = client_for(world.dan)
    response = client.post(
        url(world.shared, "new/"),
        {
            "title": "After the merger",
            "kind": "major_event",
            "scope": "What the merger changed",
            "started_on": (TODAY - timedelta(days=20)).isoformat(),
        },
    )
    assert response.status_code == 302
    review = HealthReview.objects.get(title="After the merger")
    assert review.alliance == world.shared and review.led_by == world.dan
    assert review.completed_on is None
    assert response.url == url(world.shared, f"{review.pk}/")

    response = client.post(
        url(world.shared, f"{review.pk}/interviews/new/"),
        {
            "function": "delivery",
            "side": "partner",
            "held_on": (TODAY - timedelta(days=3)).isoformat(),
            "themes": "handoffs, tooling",
            "notes": "Handoffs are slow",
            "visibility": "shared",
        },
    )
    assert response.status_code == 302
    taken = review.interviews.get()
    assert (taken.author_organization, taken.side, taken.created_by) == (
        world.northwind,
        Side.PARTNER,
        world.dan,
    )

    # Rating three corners is not enough to complete.
    body = {}
    for corner in Corner.values:
        body[f"{corner}-strengths"] = f"{corner} strengths"
        body[f"{corner}-concerns"] = f"{corner} concerns"
        body[f"{corner}-rating"] = "" if corner == Corner.VALUE else "yellow"
    assert client.post(url(world.shared, f"{review.pk}/synthesis/"), body).status_code == 302
    assert review.syntheses.count() == 4
    response = client.post(url(world.shared, f"{review.pk}/complete/"))
    assert response.status_code == 400
    assert "Not rated yet: Value realisation" in response.content.decode()
    review.refresh_from_db()
    assert review.completed_on is None

    body["value-rating"] = "red"
    assert client.post(url(world.shared, f"{review.pk}/synthesis/"), body).status_code == 302
    assert review.syntheses.get(corner=Corner.VALUE).rating == "red"

    owner = world.shared.contacts.get(side=Side.LEAD)
    due = TODAY + timedelta(days=30)
    response = client.post(
        url(world.shared, f"{review.pk}/recommendations/new/"),
        {"title": "Fix the handoffs", "details": "One board", "owner": owner.pk, "due_on": due},
    )
    assert response.status_code == 302

    assert client.post(url(world.shared, f"{review.pk}/complete/")).status_code == 302
    review.refresh_from_db()
    assert review.completed_on == timezone.localdate()

    page = client.get(url(world.shared, f"{review.pk}/")).content.decode()
    for text in ("What the merger changed", "Handoffs are slow", "handoffs", "Fix the handoffs"):
        assert text in page
    assert "▲</span> Yellow" in page and "■</span> Red" in page
    listing = client.get(url(world.shared)).content.decode()
    assert "After the merger" in listing and "■</span> Red" in listing


def test_completion_is_refused_without_four_ratings(world, review):
    rate(review, {Corner.STRATEGIC: "green", Corner.RELATIONAL: "red"})
    with pytest.raises(Exception, match="Operational integration, Value realisation"):
        services.review_complete(review=review)
    review.refresh_from_db()
    assert review.completed_on is None
    rate(review, ALL_GREEN)
    services.review_complete(review=review)
    with pytest.raises(Exception, match="was completed on"):
        services.review_complete(review=review)


def test_a_recommendation_is_a_shared_action_item_both_sides_see(world, review, client_for):
    owner = world.shared.contacts.get(side=Side.PARTNER)
    response = client_for(world.ben).post(
        url(world.shared, f"{review.pk}/recommendations/new/", "contoso"),
        {"title": "Joint QBR", "owner": owner.pk, "due_on": TODAY + timedelta(days=14)},
    )
    assert response.status_code == 302
    recommendation = ReviewRecommendation.objects.get(review=review)
    action = recommendation.action
    assert action.source == ActionSource.HEALTH_REVIEW
    assert action.visibility == Visibility.SHARED
    assert (action.author_organization, action.owner, action.status) == (
        world.contoso,
        owner,
        ActionStatus.OPEN,
    )
    for user, org in ((world.ada, "northwind"), (world.ben, "contoso"), (world.vic, "northwind")):
        client = client_for(user)
        actions = client.get(
            f"/o/{org}/alliances/{world.shared.pk}/actions/?status=all"
        ).content.decode()
        assert "Joint QBR" in actions and "Health review" in actions
        page = client.get(url(world.shared, f"{review.pk}/", org)).content.decode()
        assert "Joint QBR" in page and "Open" in page


def test_a_recommendation_is_owned_by_the_recommending_side(world, review, client_for):
    other_side = world.shared.contacts.get(side=Side.PARTNER)
    response = client_for(world.dan).post(
        url(world.shared, f"{review.pk}/recommendations/new/"),
        {"title": "Not theirs", "owner": other_side.pk, "due_on": TODAY + timedelta(days=14)},
    )
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    with pytest.raises(Exception, match="your own side"):
        services.recommendation_add(
            review=review,
            organization=world.northwind,
            title="Not theirs",
            owner=other_side,
            due_on=TODAY,
            user=None,
        )
    assert not ActionItem.objects.filter(title="Not theirs").exists()
    assert not ReviewRecommendation.objects.exists()


def test_an_action_made_internal_later_disappears_from_the_other_sides_review(
    world, review, client_for
):
    recommendation = services.recommendation_add(
        review=review,
        organization=world.northwind,
        title="Quietly internal",
        owner=world.shared.contacts.get(side=Side.LEAD),
        due_on=TODAY + timedelta(days=7),
        user=None,
    )
    ActionItem.objects.filter(pk=recommendation.action_id).update(visibility=Visibility.INTERNAL)
    ada = client_for(world.ada).get(url(world.shared, f"{review.pk}/")).content.decode()
    assert "Quietly internal" in ada
    ben = client_for(world.ben).get(url(world.shared, f"{review.pk}/", "contoso")).content
    assert b"Quietly internal" not in ben
    assert b"no longer shared with you" in ben


# --- what each side sees --------------------------------------------------------------------


def test_internal_interview_notes_never_reach_the_other_side(world, review, client_for):
    ada = client_for(world.ada).get(url(world.shared, f"{review.pk}/")).content.decode()
    assert "Northwind internal notes" in ada and "Northwind shared notes" in ada
    assert "Contoso shared notes" in ada
    assert "Contoso internal notes" not in ada
    assert "tag-internal" in ada

    ben = client_for(world.ben).get(url(world.shared, f"{review.pk}/", "contoso")).content
    ben = ben.decode()
    assert "Contoso internal notes" in ben and "Contoso shared notes" in ben
    assert "Northwind shared notes" in ben
    assert "Northwind internal notes" not in ben


def test_the_other_sides_internal_interview_is_a_404_and_its_shared_one_a_403(
    world, review, client_for
):
    client = client_for(world.ben)
    internal = review.interviews.get(author_organization=world.northwind, visibility="internal")
    shared = review.interviews.get(author_organization=world.northwind, visibility="shared")
    edit = url(world.shared, f"{review.pk}/interviews/{{}}/edit/", "contoso")
    assert client.get(edit.format(internal.pk)).status_code == 404
    assert client.post(edit.format(internal.pk), {"notes": "x"}).status_code == 404
    # Seen, but the notes are Northwind's to change.
    assert client.get(edit.format(shared.pk)).status_code == 403
    own = review.interviews.get(author_organization=world.contoso, visibility="internal")
    assert client.get(edit.format(own.pk)).status_code == 200


def test_scoped_reads_keep_internal_interviews_with_their_author(world, review):
    contoso_sees = {i.notes for i in ReviewInterview.objects.visible_to(world.contoso)}
    assert contoso_sees == {
        "Northwind shared notes",
        "Contoso shared notes",
        "Contoso internal notes",
    }
    assert not ReviewInterview.objects.visible_to(world.fabrikam).exists()
    assert not HealthReview.objects.visible_to(world.fabrikam).exists()


def test_an_interview_posted_as_internal_stays_internal(world, review, client_for):
    response = client_for(world.ben).post(
        url(world.shared, f"{review.pk}/interviews/new/", "contoso"),
        {
            "function": "executive_sponsor",
            "side": "partner",
            "held_on": TODAY.isoformat(),
            "notes": "Our sponsor doubts the lead",
            "visibility": "internal",
        },
    )
    assert response.status_code == 302
    taken = ReviewInterview.objects.get(notes="Our sponsor doubts the lead")
    assert (taken.author_organization, taken.visibility) == (world.contoso, "internal")
    for user, org in ((world.ada, "northwind"), (world.vic, "northwind")):
        client = client_for(user)
        for suffix in ("", f"{review.pk}/"):
            assert b"doubts the lead" not in client.get(url(world.shared, suffix, org)).content


def test_the_outsider_gets_404_on_every_page(world, review, client_for):
    client = client_for(world.cy)
    for suffix in all_pages(review):
        for org in ("fabrikam", "northwind"):
            assert client.get(url(world.shared, suffix, org)).status_code == 404, suffix
            assert client.post(url(world.shared, suffix, org), {}).status_code == 404, suffix
    # Northwind's review below Fabrikam's own alliance is not found either.
    own = url(world.fabrikam_alliance, f"{review.pk}/", "fabrikam")
    assert client.get(own).status_code == 404


def test_the_partner_cannot_reach_a_review_of_an_alliance_it_is_not_party_to(world, client_for):
    litware_review = make_review(world.litware)
    client = client_for(world.ben)
    assert client.get(url(world.litware, f"{litware_review.pk}/", "contoso")).status_code == 404
    assert client.get(url(world.shared, f"{litware_review.pk}/", "contoso")).status_code == 404


def test_a_viewer_reads_but_gets_403_on_every_write(world, review, client_for):
    client = client_for(world.vic)
    for suffix in ("", f"{review.pk}/"):
        assert client.get(url(world.shared, suffix)).status_code == 200
    page = client.get(url(world.shared, f"{review.pk}/")).content.decode()
    assert "Add interview" not in page and "Rate corners" not in page
    writes = [page for page in all_pages(review) if page not in ("", f"{review.pk}/")]
    for suffix in writes:
        assert client.get(url(world.shared, suffix)).status_code == 403, suffix
        assert client.post(url(world.shared, suffix), {"title": "x"}).status_code == 403, suffix
    assert HealthReview.objects.count() == 1


def test_both_sides_managers_edit_the_review(world, review, client_for):
    for user, org in ((world.dan, "northwind"), (world.ben, "contoso")):
        response = client_for(user).post(
            url(world.shared, f"{review.pk}/edit/", org),
            {
                "title": f"Edited by {org}",
                "kind": "other",
                "scope": "Wider",
                "started_on": review.started_on.isoformat(),
            },
        )
        assert response.status_code == 302
        review.refresh_from_db()
        assert review.title == f"Edited by {org}"


def test_an_archived_alliance_refuses_writes(world, review, client_for):
    alliance_services.alliance_set_archived(alliance=world.shared, archived=True)
    client = client_for(world.dan)
    assert client.get(url(world.shared, f"{review.pk}/")).status_code == 200
    assert client.get(url(world.shared, f"{review.pk}/synthesis/")).status_code == 403


# --- bad input ------------------------------------------------------------------------------


def test_a_review_without_its_fields_is_refused(world, client_for):
    response = client_for(world.dan).post(url(world.shared, "new/"), {"kind": "yearly"})
    assert response.status_code == 400
    assert {"title", "scope", "started_on", "kind"} <= set(response.context["form"].errors)
    assert not HealthReview.objects.exists()


def test_an_interview_in_the_future_or_without_notes_is_refused(world, review, client_for):
    client = client_for(world.dan)
    before = ReviewInterview.objects.count()
    response = client.post(
        url(world.shared, f"{review.pk}/interviews/new/"),
        {
            "function": "sales",
            "side": "lead",
            "held_on": (TODAY + timedelta(days=2)).isoformat(),
            "notes": "Not yet",
            "visibility": "shared",
        },
    )
    assert response.status_code == 400
    assert "held_on" in response.context["form"].errors
    response = client.post(
        url(world.shared, f"{review.pk}/interviews/new/"),
        {"function": "juggler", "side": "neither", "visibility": "secret"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"function", "side", "held_on", "notes", "visibility"} <= set(errors)
    assert ReviewInterview.objects.count() == before


def test_a_rating_outside_green_yellow_red_is_refused(world, review, client_for):
    body = {f"{corner}-rating": "green" for corner in Corner.values}
    body["relational-rating"] = "grey"
    response = client_for(world.dan).post(url(world.shared, f"{review.pk}/synthesis/"), body)
    assert response.status_code == 400
    forms = dict(response.context["rows"])
    assert "rating" in forms["Relational trust"].errors
    assert not ReviewSynthesis.objects.exists()
    with pytest.raises(Exception, match="rating"):
        rate(review, {Corner.STRATEGIC: "purple"})
    assert not ReviewSynthesis.objects.exists()


def test_a_recommendation_without_fields_or_due_in_the_past_is_refused(world, review, client_for):
    client = client_for(world.dan)
    owner = world.shared.contacts.get(side=Side.LEAD)
    new = url(world.shared, f"{review.pk}/recommendations/new/")
    response = client.post(new, {})
    assert response.status_code == 400
    assert {"title", "owner", "due_on"} <= set(response.context["form"].errors)
    response = client.post(
        new, {"title": "Late", "owner": owner.pk, "due_on": TODAY - timedelta(days=1)}
    )
    assert response.status_code == 400
    assert "due_on" in response.context["form"].errors
    assert not ReviewRecommendation.objects.exists()
    assert not ActionItem.objects.filter(source=ActionSource.HEALTH_REVIEW).exists()


def test_a_contact_of_another_alliance_cannot_own_a_recommendation(world, review, client_for):
    stranger = world.litware.contacts.get(side=Side.LEAD)
    response = client_for(world.dan).post(
        url(world.shared, f"{review.pk}/recommendations/new/"),
        {"title": "Stranger", "owner": stranger.pk, "due_on": TODAY + timedelta(days=3)},
    )
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors


# --- the latest ratings ---------------------------------------------------------------------


def test_latest_review_ratings_reads_the_latest_completed_review(world, review, client_for):
    scope_ada = client_for(world.ada).get(url(world.shared)).context["here"].scope
    assert services.latest_review_ratings(scope=scope_ada, alliance_ids=[world.shared.pk]) == {}

    rate(review, ALL_GREEN)
    services.review_complete(review=review, today=TODAY - timedelta(days=10))
    newer = make_review(world.shared, title="After the reorg", started_on=TODAY - timedelta(5))
    rate(newer, {**ALL_GREEN, Corner.RELATIONAL: Color.RED})
    in_progress = make_review(world.shared, title="Ongoing", started_on=TODAY)
    rate(in_progress, {corner: Color.YELLOW for corner in Corner.values})

    ratings = services.latest_review_ratings(scope=scope_ada, alliance_ids=[world.shared.pk])
    assert ratings == {world.shared.pk: ALL_GREEN}  # the newer one is not completed yet

    services.review_complete(review=newer, today=TODAY)
    ratings = services.latest_review_ratings(
        scope=scope_ada, alliance_ids=[world.shared.pk, world.litware.pk]
    )
    assert ratings[world.shared.pk][Corner.RELATIONAL] == Color.RED
    assert ratings[world.shared.pk][Corner.RELATIONAL].symbol == "■"
    assert world.litware.pk not in ratings

    page = client_for(world.ben).get(url(world.shared, "", "contoso")).content.decode()
    assert "■</span> Red" in page


def test_latest_review_ratings_are_scoped(world, review, client_for):
    fabrikam_review = make_review(world.fabrikam_alliance)
    rate(fabrikam_review, ALL_GREEN)
    services.review_complete(review=fabrikam_review)
    scope_ben = client_for(world.ben).get(url(world.shared, "", "contoso")).context["here"].scope
    assert (
        services.latest_review_ratings(
            scope=scope_ben, alliance_ids=[world.fabrikam_alliance.pk, world.shared.pk]
        )
        == {}
    )


def _completed_reviews(world, names) -> list[int]:
    ids = []
    for n in names:
        alliance = alliance_services.alliance_create(
            organization=world.northwind, user=world.ada, name=f"Scale {n}", partner_name="P"
        )
        for title in ("First", "Second"):
            review = make_review(alliance, title=title)
            rate(review, ALL_GREEN)
            services.review_complete(review=review)
        ids.append(alliance.pk)
    return ids


def test_latest_review_ratings_takes_the_same_queries_for_2_or_20_alliances(world, client_for):
    scope = client_for(world.ada).get(url(world.shared)).context["here"].scope
    few = _completed_reviews(world, range(2))
    with CaptureQueriesContext(connection) as small:
        assert len(services.latest_review_ratings(scope=scope, alliance_ids=few)) == 2
    many = few + _completed_reviews(world, range(2, 20))
    with CaptureQueriesContext(connection) as large:
        ratings = services.latest_review_ratings(scope=scope, alliance_ids=many)
    assert len(ratings) == 20 and all(len(r) == 4 for r in ratings.values())
    assert len(small.captured_queries) == len(large.captured_queries) == 1


# --- query counts ---------------------------------------------------------------------------


def queries(client, path) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(context.captured_queries)


def test_review_pages_take_the_same_queries_however_many_interviews(world, review, client_for):
    client = client_for(world.ada)
    rate(review, ALL_GREEN)
    lead = world.shared.contacts.get(side=Side.LEAD)
    services.recommendation_add(
        review=review,
        organization=world.northwind,
        title="First",
        owner=lead,
        due_on=TODAY,
        user=None,
    )
    pages = [url(world.shared), url(world.shared, f"{review.pk}/")]
    before = [queries(client, page) for page in pages]
    for n in range(15):
        interview(review, world.northwind, Visibility.SHARED, f"More {n}")
        interview(review, world.contoso, Visibility.INTERNAL, f"Hidden {n}")
        make_review(world.shared, title=f"Review {n}")
        services.recommendation_add(
            review=review,
            organization=world.northwind,
            title=f"Rec {n}",
            owner=ContactFactory(alliance=world.shared, side=Side.LEAD),
            due_on=TODAY,
            user=None,
        )
    after = [queries(client, page) for page in pages]
    assert before == after
