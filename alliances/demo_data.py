"""What the demo contains: organisations, people, logins and the alliances, as plain tables.

Read by ``python manage.py seed_demo``; all the text here is demo content.
"""

from dataclasses import dataclass, field

from alliances.models import (
    VALUE_THESIS_FIELDS,
    AllianceModel,
    ContactFunction,
    FitCriterion,
    Outcome,
    Role,
    Stage,
    Visibility,
)

DEMO_PASSWORD = "concord-demo"  # noqa: S105 - the documented password of the demo logins
DEMO_URL = "http://127.0.0.1:8000/accounts/login/"
DEMO_OUTBOX_URL = "http://127.0.0.1:8000/dev/outbox/"

F = ContactFunction
SHARED, INTERNAL = Visibility.SHARED, Visibility.INTERNAL

# --- organisations and people -----------------------------------------------------------------

# slug -> name. Every person of an organisation has the email <key>@<slug>.example.
ORGANIZATIONS = {
    "northwind": "Northwind",
    "contoso": "Contoso",
    "fabrikam": "Fabrikam",
    "litware": "Litware",
    "tailspin": "Tailspin",
    "adatum": "Adatum",
    "wingtip": "Wingtip",
}


@dataclass(frozen=True)
class Person:
    name: str
    title: str
    function: str


# Who takes part in alliances, per organisation (woodgrove has not joined Concord yet).
PEOPLE: dict[str, dict[str, Person]] = {
    "northwind": {
        "ada": Person("Ada Okafor", "Chief Partnerships Officer", F.EXECUTIVE_SPONSOR),
        "dev": Person("Dev Raman", "Alliance Manager", F.ALLIANCE_MANAGER),
        "sam": Person("Sam Whitfield", "VP Strategy", F.EXECUTIVE_SPONSOR),
        "priya": Person("Priya Nair", "Enterprise Sales Director", F.SALES),
        "tomas": Person("Tomás Ortega", "Head of Platform Engineering", F.DELIVERY),
        "lena": Person("Lena Fischer", "Product Marketing Lead", F.MARKETING),
        "marcus": Person("Marcus Bell", "Commercial Counsel", F.LEGAL_FINANCE),
        "ingrid": Person("Ingrid Holm", "Customer Success Director", F.SUPPORT),
    },
    "contoso": {
        "rhea": Person("Rhea Mendoza", "SVP Global Alliances", F.EXECUTIVE_SPONSOR),
        "ben": Person("Ben Castillo", "Partner Alliance Manager", F.ALLIANCE_MANAGER),
        "kwame": Person("Kwame Asante", "Solutions Architect", F.DELIVERY),
        "julia": Person("Julia Brandt", "Channel Sales Lead", F.SALES),
        "hiro": Person("Hiro Tanaka", "Product Manager, Data Services", F.PRODUCT),
        "nadia": Person("Nadia Petrova", "Public Sector Director", F.SALES),
    },
    "fabrikam": {
        "oona": Person("Oona Vartiainen", "Chief Operating Officer", F.EXECUTIVE_SPONSOR),
        "cy": Person("Cy Lindqvist", "Director of Alliances", F.ALLIANCE_MANAGER),
        "raj": Person("Raj Malhotra", "Engineering Manager", F.DELIVERY),
        "bea": Person("Beatriz Souza", "Quality Manager", F.OTHER),
    },
    "litware": {
        "elif": Person("Elif Demir", "Chief Executive", F.EXECUTIVE_SPONSOR),
        "noah": Person("Noah Kim", "Partnerships Manager", F.ALLIANCE_MANAGER),
        "aisha": Person("Aisha Bello", "Head of Content", F.PRODUCT),
    },
    "tailspin": {
        "mateo": Person("Mateo Rossi", "Chief Commercial Officer", F.EXECUTIVE_SPONSOR),
        "hana": Person("Hana Novak", "Partner Manager", F.ALLIANCE_MANAGER),
        "luis": Person("Luis Ferreira", "Finance Controller", F.LEGAL_FINANCE),
    },
    "adatum": {
        "grace": Person("Grace Liu", "Chief Technology Officer", F.EXECUTIVE_SPONSOR),
        "olu": Person("Olu Adeyemi", "Alliance Lead", F.ALLIANCE_MANAGER),
        "sven": Person("Sven Berg", "Lead Data Scientist", F.DELIVERY),
    },
    "wingtip": {
        "chloe": Person("Chloe Martin", "Managing Director", F.EXECUTIVE_SPONSOR),
        "ravi": Person("Ravi Iyer", "Partnerships Lead", F.ALLIANCE_MANAGER),
        "emma": Person("Emma Walsh", "Operations Manager", F.SUPPORT),
    },
    "woodgrove": {
        "frances": Person("Frances Adler", "Head of Digital Banking", F.EXECUTIVE_SPONSOR),
        "leo": Person("Leo Gruber", "Fintech Partnerships Manager", F.ALLIANCE_MANAGER),
    },
}


def email_of(org: str, key: str) -> str:
    return f"{key}@{org}.example"


@dataclass(frozen=True)
class DemoUser:
    key: str
    organization: str
    role: str
    what: str  # what this login shows, for the printed table


DEMO_USERS = [
    DemoUser("ada", "northwind", Role.ADMIN, "Northwind admin: leads most alliances"),
    DemoUser("dev", "northwind", Role.MANAGER, "Northwind alliance manager"),
    DemoUser("sam", "northwind", Role.VIEWER, "Northwind steering committee, read-only"),
    DemoUser("ben", "contoso", Role.MANAGER, "Contoso manager: partner of Northwind"),
    DemoUser("cy", "fabrikam", Role.ADMIN, "Fabrikam admin: no alliance with Northwind"),
]

# --- alliances --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Advance:
    """Tick the stage's gate items (except ``unmet``, by position) and move on."""

    days_ago: int
    note: str
    unmet: tuple[int, ...] = ()
    override: str = ""
    outcome: str = ""  # leaving renewal/exit
    lessons: dict[str, str] | None = None  # LessonsLearned fields, for an exit


@dataclass(frozen=True)
class Back:
    days_ago: int
    to_stage: int
    reason: str


@dataclass(frozen=True)
class Note:
    days_ago: int
    author: str  # a demo user's key
    body: str
    visibility: str = SHARED


@dataclass(frozen=True)
class Trigger:
    condition: str
    response: str
    fired_days_ago: int | None = None
    fired_note: str = ""


@dataclass(frozen=True)
class AllianceSpec:
    name: str
    lead: str  # organisation slug
    owner: str  # the lead's demo user who creates and drives it
    partner: str | None  # organisation slug; None while the partner has not accepted
    model: str
    importance: int
    created_days_ago: int
    thesis: dict[str, str]
    lead_contacts: tuple[str, ...]
    partner_contacts: tuple[str, ...]
    fit: str  # the lead's partner-fit scores, one digit per FitCriterion, in declared order
    triggers: tuple[Trigger, ...]
    history: tuple[Advance | Back, ...] = ()
    ticked: int = 0  # gate items of the current stage already done
    notes: tuple[Note, ...] = ()
    red_flags: dict[str, str] = field(default_factory=dict)
    start_in_days: int | None = None  # days from today; negative is in the past
    renewal_in_days: int | None = None
    partner_name: str = ""  # defaults to the partner organisation's name
    partner_people: str = ""  # PEOPLE key of a partner that is not an organisation yet
    invite: str = ""  # person key of the partner to invite (pending invitation)
    archived_days_ago: int | None = None


def thesis(*values: str) -> dict[str, str]:
    """The value thesis fields, in VALUE_THESIS_FIELDS order."""
    if len(values) != len(VALUE_THESIS_FIELDS):
        raise ValueError(f"A value thesis has {len(VALUE_THESIS_FIELDS)} parts.")
    return dict(zip(VALUE_THESIS_FIELDS, values, strict=True))


ALLIANCES = [
    AllianceSpec(
        name="Northwind + Contoso Cloud Co-Sell",
        lead="northwind",
        owner="dev",
        partner="contoso",
        model=AllianceModel.COMPLEMENTARY,
        importance=5,
        created_days_ago=900,
        start_in_days=-880,
        renewal_in_days=1030,
        thesis=thesis(
            "Sell Northwind's planning suite on Contoso Cloud so that mid-market manufacturers "
            "buy both in a single motion.",
            "Make Contoso Cloud the default home of Northwind planning for mid-market "
            "manufacturers, with 40% of new Northwind subscriptions coming through the joint "
            "motion by the end of the second term.",
            "Building our own hosting in every region would take years and pull engineers off "
            "the product; buying a hosting company is out of reach. Contoso already has the data "
            "centres, the marketplace and sellers in our target accounts, and it wants industry "
            "workloads that drive consumption.",
            "- 120 joint opportunities registered, 35 of them won\n"
            "- Northwind listed in the Contoso marketplace with private offers\n"
            "- Contoso sellers paid co-sell incentives on Northwind deals\n"
            "- Joint deals closing in under 90 days on average",
            "A cloud-ready edition of the suite, solution engineers for joint pursuits, two "
            "reference customers and half of the joint marketing budget.",
            "Marketplace listing and private offers, co-sell status for its field teams, "
            "architecture reviews and cloud credits for proofs of concept.",
            "Mid-market discrete manufacturers in North America and the UK: new customers, and "
            "existing Northwind customers moving off their own servers.",
            "Enterprise accounts with their own cloud agreements; reselling each other's "
            "services; any joint product development.",
            "- Contoso sellers register deals once the incentive is live (check: 20 "
            "registrations in 90 days)\n"
            "- Marketplace billing does not slow procurement (check: quote-to-signature time on "
            "the first five deals)\n"
            "- Customers accept one support path (check: the first ten support tickets)",
            "Contoso's sellers chase bigger workloads and neglect the mid-market; conflict with "
            "our existing resellers; support handoffs that leave customers between two queues.",
            "The customer's outcome comes before either side's revenue. Whoever owns the account "
            "leads the pursuit. Disagreements reach the sponsors within two weeks rather than "
            "waiting for the quarterly review.",
        ),
        lead_contacts=("ada", "dev", "priya", "lena"),
        partner_contacts=("rhea", "ben", "julia"),
        fit="5534445",
        triggers=(
            Trigger(
                "Contoso changes its marketplace fee by more than 3 percentage points",
                "Re-run the pricing model and review the joint price list",
            ),
            Trigger(
                "Joint pipeline below half of plan for two quarters in a row",
                "Sponsor review of field engagement and incentives",
            ),
            Trigger(
                "Contoso announces a planning application of its own",
                "Steering committee reassesses the competitive overlap",
            ),
        ),
        history=(
            Advance(860, "Both sponsors signed the one-page thesis; scope is the mid-market only."),
            Advance(
                790,
                "Steering committee, escalation ladder and data terms agreed; Dev and Ben are "
                "the alliance managers.",
            ),
            Advance(420, "Eighteen months in: 31 joint wins against a plan of 35. Time to assess."),
            Advance(
                150,
                "Health review done. The value is real but concentrated in the UK; opening the "
                "renewal discussion.",
            ),
            Advance(
                70,
                "Renewed for three years. Private offers extend to Germany and the incentive now "
                "applies to new customers only.",
                outcome=Outcome.RENEWED,
            ),
        ),
        ticked=2,
        notes=(
            Note(
                840,
                "dev",
                "Kickoff held with both field teams; 14 target accounts chosen for the first "
                "quarter.",
            ),
            Note(
                600,
                "ben",
                "Contoso sellers registered 22 Northwind deals this quarter, more than for any "
                "other industry partner in the region.",
            ),
            Note(
                410,
                "ada",
                "The incentive drives volume, but our average deal size fell 18%. Watch "
                "discounting before the renewal talks.",
                INTERNAL,
            ),
            Note(
                160,
                "ben",
                "Regional leadership sees Northwind as the model industry partner. Use that "
                "goodwill when we negotiate the renewal terms.",
                INTERNAL,
            ),
            Note(
                65,
                "dev",
                "Renewal signed. Next: the German launch plan and a private-offer template both "
                "legal teams can reuse.",
            ),
        ),
    ),
    AllianceSpec(
        name="Contoso Data Platform Connector",
        lead="northwind",
        owner="dev",
        partner="contoso",
        model=AllianceModel.COMPLEMENTARY,
        importance=4,
        created_days_ago=240,
        start_in_days=-220,
        renewal_in_days=510,
        thesis=thesis(
            "Give shared customers a certified, near-real-time feed of Northwind planning data "
            "into Contoso's analytics platform.",
            "Remove the custom integration work that adds six to ten weeks to every joint "
            "analytics project, and make the connector a reason to choose the pair of products.",
            "Both sides have built one-off integrations for single customers and neither "
            "maintains them well. One connector under one roadmap costs less than two half-built "
            "ones, and neither company would buy the other's engineering team for this.",
            "- Connector generally available and certified by both sides\n"
            "- Eight customers in production on it\n"
            "- Integration effort per project under one week\n"
            "- A joint reference architecture published",
            "Two engineers for the planning-side API, a test environment with anonymised "
            "reference data, and a product manager who owns the joint backlog.",
            "A platform engineer, certification in Contoso's catalogue, and early access to the "
            "streaming ingestion API.",
            "Planning, inventory and forecast data flowing one way into the analytics platform; "
            "monitoring and support runbooks.",
            "Writing data back into Northwind; dashboards built for single customers; any "
            "exclusivity among analytics partners.",
            "- The streaming API is stable enough to build on (check: two weeks of soak tests)\n"
            "- The pilot customer shares production data under a signed annex (check: signature "
            "by quarter end)\n"
            "- Five-minute latency is enough for planners (check: interviews with three pilot "
            "users)",
            "Data-protection terms delay the pilot; Contoso re-prioritises the streaming API; "
            "the connector becomes Northwind's maintenance burden alone.",
            "Customer data never moves without a signed annex. The joint backlog is ranked by "
            "impact on pilot customers. Either side may hold a release for a security concern "
            "without debate.",
        ),
        lead_contacts=("sam", "dev", "tomas", "marcus"),
        partner_contacts=("hiro", "rhea", "ben", "kwame"),
        fit="4533434",
        triggers=(
            Trigger(
                "Contoso deprecates or re-prices the streaming ingestion API",
                "Pause feature work; both product leads reassess the architecture",
            ),
            Trigger(
                "The pilot customer withdraws",
                "Find another pilot within 30 days or move back to formation",
            ),
        ),
        history=(
            Advance(200, "Scope fixed to a one-way feed; both product leads signed the thesis."),
            Advance(
                130,
                "Engineering starts on synthetic data so the team is not idle.",
                unmet=(4,),
                override="Both legal teams expect the data-processing annex within weeks; "
                "engineering can build against synthetic data until then.",
            ),
            Back(
                80,
                Stage.GOVERNANCE,
                "The data-processing annex is still unsigned and the pilot customer will not "
                "share production data without it. Back to governance until both legal teams "
                "sign.",
            ),
        ),
        ticked=4,
        notes=(
            Note(
                190,
                "ben",
                "Streaming API access is enabled for the Northwind sandbox. Kwame joins the "
                "Thursday stand-ups.",
            ),
            Note(
                125,
                "dev",
                "Legal review of the data annex is still pending. Tomás is confident the "
                "synthetic data covers the edge cases.",
                INTERNAL,
            ),
            Note(
                78,
                "dev",
                "Pilot on hold until the annex is signed. We agreed not to restart engineering "
                "before then.",
            ),
            Note(
                40,
                "ben",
                "Our privacy office wants the EU residency wording changed again. Expect two more "
                "weeks.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Retail Demand Sensing with Contoso",
        lead="northwind",
        owner="dev",
        partner="contoso",
        model=AllianceModel.COMPLEMENTARY,
        importance=4,
        created_days_ago=620,
        start_in_days=-600,
        renewal_in_days=130,
        thesis=thesis(
            "Offer grocery and convenience retailers forecasts that react to till data within a "
            "day, sold as one package.",
            "Win a place in retail forecasting, where Northwind is barely present, by pairing "
            "our forecasting engine with Contoso's retail data services.",
            "Retailers want the forecasts and the data pipes together. Building a point-of-sale "
            "data business would take us years, and Contoso has no forecasting engine it wants "
            "to build. A joint offer lets both reach the segment this year.",
            "- One packaged offer with one price list and one statement of work\n"
            "- Six retailers live, two of them with more than 500 stores\n"
            "- Forecast error down at least 15% at the pilot retailers\n"
            "- A joint case study presented at the spring retail conference",
            "The forecasting engine and data-science team, retail demand models, and "
            "implementation leads.",
            "Point-of-sale data ingestion, retail account teams, and hosting at an agreed rate "
            "for the joint offer.",
            "Grocery and convenience retailers in the UK, Ireland and the Nordics; daily "
            "store-level forecasts.",
            "Fashion and seasonal retail; price optimisation; white-labelling for other vendors.",
            "- Retailers share till data daily (check: three data agreements in 90 days)\n"
            "- The combined price stays under retailers' approval limits (check: the first four "
            "proposals)\n"
            "- Our models work on Contoso's feed (check: back-test on one retailer's history)",
            "Retail IT teams stall on data sharing; the joint price is too high for mid-size "
            "chains; each side's sellers keep leading with their standalone products.",
            "Pilot results are shared in full with both sides, good or bad. The price list "
            "changes only by joint decision. A retailer's data is used for that retailer only.",
        ),
        lead_contacts=("ada", "dev", "priya", "ingrid"),
        partner_contacts=("rhea", "ben", "julia", "kwame"),
        fit="4443343",
        triggers=(
            Trigger(
                "A pilot retailer's forecast error has not improved by 10% after three months",
                "Joint technical review before any new retailer signs",
            ),
            Trigger(
                "Contoso changes the hosting rate for the joint offer",
                "Reprice the package and tell every open proposal",
            ),
        ),
        history=(
            Advance(590, "Thesis and non-goals agreed at the London workshop."),
            Advance(520, "Decision rights, data terms and the escalation path are signed off."),
            Advance(
                90,
                "A year of delivery behind us; time to check value against the plan.",
                unmet=(2,),
                override="We interviewed partner users instead of running a pulse round while "
                "the survey process was being set up; a full round follows in evaluation.",
            ),
        ),
        ticked=1,
        notes=(
            Note(
                500,
                "dev",
                "Kickoff with both retail teams. The first data agreement is signed with a "
                "300-store grocer.",
            ),
            Note(
                300,
                "ben",
                "Back-test results are in: forecast error down 19% at the pilot. The full report "
                "is shared with Northwind.",
            ),
            Note(
                200,
                "ben",
                "Our retail sellers still lead with the standalone data service. Raise it with "
                "Julia's managers.",
                INTERNAL,
            ),
            Note(
                60,
                "ada",
                "Value so far is half of plan. The evaluation should ask honestly whether "
                "mid-size chains are the right target.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Contoso Public Sector Framework Bid",
        lead="northwind",
        owner="ada",
        partner="contoso",
        model=AllianceModel.COOPETITION,
        importance=3,
        created_days_ago=45,
        thesis=thesis(
            "Bid together for the national public-sector logistics framework, whose lots "
            "neither of us can cover alone.",
            "Get Northwind onto the framework that will carry most central-government "
            "supply-chain purchasing for the next four years.",
            "The framework demands a hosting accreditation we lack and planning capability "
            "Contoso lacks. Teaming for this bid is faster and cheaper than either side earning "
            "what it is missing.",
            "- A compliant joint bid submitted on time\n"
            "- Places on at least two of the five lots\n"
            "- A call-off process both sides can run without negotiating each time",
            "Planning software, public-sector references and the bid manager.",
            "Accredited hosting, security clearances and experience from the previous framework.",
            "Lots 2 and 4 (planning and inventory services).",
            "Lots where Contoso bids alone or with others; any work outside this framework.",
            "- The buyer accepts a teaming arrangement instead of a prime contractor (check: "
            "clarification answer)\n"
            "- Contoso's accreditation renewal lands before submission (check: certificate "
            "date)\n"
            "- We can agree a split for overlapping lots (check: heads of terms within 60 days)",
            "Contoso competes with us on the other lots and may favour its own bids; "
            "accreditation timing; a split that leaves one side without margin.",
            "Nothing about lots outside the teaming agreement is shared. The side that owns the "
            "customer relationship leads each call-off. A deadlock goes to both sponsors within "
            "48 hours.",
        ),
        lead_contacts=("ada", "dev", "marcus"),
        partner_contacts=("rhea", "nadia", "ben"),
        fit="4423353",
        red_flags={
            FitCriterion.ECONOMIC: "Contoso bids against us on three of the five lots and the "
            "revenue split for overlapping lots is not agreed.",
        },
        triggers=(
            Trigger(
                "The buyer changes the lot structure",
                "Check that the teaming still makes sense before more bid work",
            ),
            Trigger(
                "Contoso bids lot 2 or 4 with another partner",
                "Stop joint bid work and escalate to the sponsors",
            ),
        ),
        ticked=2,
        notes=(
            Note(
                40, "dev", "First bid workshop held; both teams agree lots 2 and 4 are the target."
            ),
            Note(
                30,
                "ada",
                "Keep our pricing model out of the shared bid room until the teaming agreement "
                "is signed.",
                INTERNAL,
            ),
            Note(20, "ben", "Our accreditation renewal audit is booked for next month."),
        ),
    ),
    AllianceSpec(
        name="Connected Field Service with Contoso",
        lead="northwind",
        owner="dev",
        partner="contoso",
        model=AllianceModel.ECOSYSTEM,
        importance=3,
        created_days_ago=1000,
        start_in_days=-980,
        renewal_in_days=45,
        thesis=thesis(
            "Turn equipment telemetry from Contoso's IoT hub into spare-parts plans in "
            "Northwind, so field engineers arrive with the right part.",
            "Prove that connected parts planning raises first-time fix rates for equipment "
            "makers, and sell it to their service divisions.",
            "Neither side had both the telemetry and the parts planning. Partnering let us test "
            "the market without building an IoT platform, and gave Contoso a concrete business "
            "use for its hub.",
            "- Four equipment makers using connected parts planning\n"
            "- First-time fix rate up five points at each\n"
            "- A repeatable deployment package",
            "The parts-planning engine, service-industry consultants and roadmap commitments.",
            "The IoT hub, device onboarding and co-funded pilots.",
            "Service divisions of industrial equipment makers in Europe.",
            "Consumer devices; a joint IoT product; scheduling of field engineers.",
            "- Equipment makers pay for the combination (check: two paid pilots)\n"
            "- Telemetry is clean enough to predict failures (check: pilot accuracy report)",
            "Telemetry too noisy for reliable predictions; service divisions without budget; a "
            "change in Contoso's IoT strategy.",
            "Start with customers both sides already know. Every pilot ends with a written go or "
            "no-go. Neither side sells the other's component separately inside this offer.",
        ),
        lead_contacts=("sam", "dev", "tomas", "ingrid"),
        partner_contacts=("rhea", "ben", "kwame"),
        fit="3434443",
        triggers=(
            Trigger(
                "Contoso announces changes to its IoT hub roadmap",
                "Review the offer's architecture and the renewal case",
                fired_days_ago=50,
                fired_note="Contoso will fold the IoT hub into its edge platform next year; "
                "device onboarding changes for every customer.",
            ),
            Trigger(
                "Fewer than two paid deployments by the renewal date",
                "Prepare restructure and exit options for the sponsors",
            ),
        ),
        history=(
            Advance(960, "Thesis agreed with a pilot-first plan; two equipment makers lined up."),
            Advance(900, "Pilot governance, data ownership and the go/no-go rule agreed."),
            Advance(500, "Pilots complete; assessing results against the thesis."),
            Advance(
                40,
                "The term ends in six weeks. Opening the decision: renew, restructure or exit.",
            ),
        ),
        ticked=2,
        notes=(
            Note(880, "ben", "Device onboarding done for the first pilot: 1,200 compressors."),
            Note(
                450,
                "dev",
                "Pilot results: first-time fix up 4 points at one maker and 7 at the other. "
                "Report shared with Contoso.",
            ),
            Note(
                45,
                "ada",
                "We lean towards restructuring: keep the planning integration, drop the "
                "co-funded pilots.",
                INTERNAL,
            ),
            Note(
                35,
                "ben",
                "Contoso will back a renewal only if the offer moves onto the new edge platform.",
                INTERNAL,
            ),
            Note(30, "ben", "Renewal workshop proposed for the 14th, with Rhea and Sam attending."),
        ),
    ),
    AllianceSpec(
        name="Tailspin APAC Reseller Agreement",
        lead="northwind",
        owner="dev",
        partner="tailspin",
        model=AllianceModel.COMPLEMENTARY,
        importance=3,
        created_days_ago=1100,
        start_in_days=-1080,
        renewal_in_days=-30,
        thesis=thesis(
            "Let Tailspin resell and implement Northwind in South-East Asia while we learn "
            "whether the region justifies a direct presence.",
            "Build a base of ten manufacturing customers in Singapore, Malaysia and Thailand "
            "within two years without opening an office.",
            "A regional office carries fixed costs we could not justify before seeing demand. "
            "Tailspin already sells operations software to our buyers and has implementation "
            "staff on the ground.",
            "- Ten customers live in the region\n"
            "- A certified Tailspin implementation team\n"
            "- The product localised for Bahasa and Thai",
            "Product, training and certification, partner margin and second-line support.",
            "Regional sales, implementation, first-line support and localisation.",
            "Manufacturers with 200 to 2,000 employees in Singapore, Malaysia and Thailand.",
            "Australia and New Zealand, which we serve directly; global accounts headquartered "
            "elsewhere.",
            "- Tailspin can fund presales from its margin (check: cost of the first three "
            "pursuits)\n"
            "- Customers accept a partner-led implementation (check: satisfaction after "
            "go-live)",
            "A thin partner margin; support handoffs across time zones; Tailspin's attention "
            "split across many vendors.",
            "Customers come first in any handover. Tailspin owns the local relationship. "
            "Pricing exceptions need both alliance managers.",
        ),
        lead_contacts=("sam", "dev", "ingrid"),
        partner_contacts=("mateo", "hana", "luis"),
        fit="3423443",
        red_flags={
            FitCriterion.ECONOMIC: "Our margin leaves Tailspin too little to fund presales.",
        },
        triggers=(
            Trigger(
                "Tailspin signs a competing planning vendor",
                "Sponsor review of exclusivity and margin",
            ),
            Trigger(
                "Regional revenue below half of plan for two quarters in a row",
                "Prepare restructure or exit options",
            ),
        ),
        history=(
            Advance(1060, "Reseller terms and territories agreed with Tailspin's board."),
            Advance(1000, "Certification plan, support split and escalation path signed."),
            Advance(400, "Two years of selling: nine customers signed, six live. Evaluating."),
            Advance(150, "The evaluation shows the economics do not work for Tailspin."),
            Advance(
                35,
                "Both sides agreed to end the agreement at the end of the term; customers move to "
                "Northwind's direct support.",
                outcome=Outcome.EXITED,
                lessons={
                    "what_worked": "Tailspin's sellers opened doors in Singapore and Malaysia we "
                    "could not reach, and the joint onboarding playbook brought go-live down to "
                    "six weeks.",
                    "what_did_not": "The margin left Tailspin too little to fund presales, so "
                    "deals stalled after the first demo. We never settled who handled "
                    "second-line support, and customers noticed.",
                    "lead_would_change": "Model the partner's economics before signing, not after "
                    "the first year, and place a regional solution engineer from day one.",
                    "partner_would_change": "Tailspin would commit a dedicated practice lead "
                    "instead of sharing one across four vendors, and insist on a clear support "
                    "split in the contract.",
                    "joint_customers": "All nine customers move to Northwind's direct support at "
                    "the end of the notice period; Tailspin keeps the hardware maintenance "
                    "contracts it already holds.",
                    "intellectual_property": "Each side keeps what it brought. The Bahasa "
                    "localisation built by Tailspin is licensed to Northwind permanently for a "
                    "one-off fee.",
                    "data": "Tailspin returned the customer configuration exports and confirmed "
                    "in writing that the shared deal-registration data is deleted.",
                },
            ),
        ),
        notes=(
            Note(980, "dev", "Tailspin's first four consultants passed certification."),
            Note(
                600,
                "dev",
                "Second-line tickets from the region take three days on average, and customers "
                "notice.",
                INTERNAL,
            ),
            Note(
                160,
                "ada",
                "Tailspin asked for ten more margin points. We cannot afford that; prepare an "
                "orderly exit.",
                INTERNAL,
            ),
            Note(
                30,
                "dev",
                "Exit agreed and lessons written up. Handover calls are booked with all nine "
                "customers.",
            ),
        ),
    ),
    AllianceSpec(
        name="Litware Planner Academy",
        lead="northwind",
        owner="dev",
        partner="litware",
        model=AllianceModel.COMPLEMENTARY,
        importance=2,
        created_days_ago=400,
        start_in_days=-380,
        renewal_in_days=330,
        thesis=thesis(
            "Train and certify customer planners on Northwind through Litware's online academy, "
            "so customers get value from the product sooner.",
            "Halve the time new customers need to plan confidently every day, and create a "
            "certification that partners and customers value.",
            "Training content is not our craft, and Litware runs academies for a dozen software "
            "vendors; buying a training company would be out of proportion to the need.",
            "- Three learning paths live: planner, administrator, analyst\n"
            "- 1,500 learners enrolled and 500 certified\n"
            "- Time to a new customer's first production plan down from ten weeks to five",
            "Subject-matter experts, product access for labs, and the certification standard.",
            "Course design and production, the learning platform, and exam administration.",
            "English courses for current product versions; certification exams.",
            "Classroom training; courses about competing products; translations this year.",
            "- Customers pay for certification (check: 100 paid exams in 90 days)\n"
            "- Our experts can give four hours a week each (check: the content calendar holds)",
            "Experts pulled into customer escalations; courses lagging product releases; low "
            "pass rates hurting the certification's reputation.",
            "Accuracy before speed: nothing is published without expert review. The revenue "
            "share is reviewed yearly. Learner data stays with Litware and is shared only in "
            "aggregate.",
        ),
        lead_contacts=("ada", "lena", "dev", "ingrid"),
        partner_contacts=("elif", "noah", "aisha"),
        fit="4544533",
        triggers=(
            Trigger(
                "The certification pass rate stays below 60% for a quarter",
                "Joint review of exam difficulty and course content",
                fired_days_ago=20,
                fired_note="Last quarter's pass rate was 52%; learners fail the multi-site "
                "planning scenarios.",
            ),
            Trigger(
                "A major release ships without updated courses",
                "Freeze new course work until the existing paths are current",
            ),
        ),
        history=(
            Advance(380, "Thesis agreed; the planner and administrator paths come first."),
            Advance(300, "Content calendar, review rights and revenue share signed."),
        ),
        ticked=3,
        notes=(
            Note(290, "dev", "Kickoff done; Litware's designers shadowed two onboarding projects."),
            Note(150, "dev", "The planner path is live, with 420 learners in its first month."),
            Note(
                18,
                "dev",
                "Litware and our experts meet next week to rework the multi-site scenario "
                "questions.",
            ),
            Note(
                15,
                "ada",
                "If the pass rate does not recover next quarter, pause marketing the "
                "certification.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Adatum Smart Warehouse Pilot",
        lead="northwind",
        owner="dev",
        partner="adatum",
        model=AllianceModel.COMPLEMENTARY,
        importance=3,
        created_days_ago=330,
        start_in_days=-300,
        renewal_in_days=60,
        thesis=thesis(
            "Find out, at one pilot site, whether Northwind's slotting plans can drive Adatum's "
            "warehouse robots directly.",
            "Learn within one pilot whether a planning-to-robotics link deserves product "
            "investment from both sides.",
            "A pilot partnership is the cheapest way to learn; neither side wants to build the "
            "robotics or planning capability it lacks.",
            "- One pilot warehouse running robot tasks from Northwind plans\n"
            "- A measured change in pick rate\n"
            "- A go/no-go decision on a joint product",
            "The slotting and wave-planning engine and integration engineers.",
            "Robots, the fleet software API and the pilot site relationship.",
            "One distribution centre; slotting and replenishment tasks.",
            "Commercial launch; other sites; exclusivity.",
            "- The fleet API accepts plan updates every 15 minutes (check: technical spike)\n"
            "- The pilot site keeps its operations team available (check: weekly attendance)",
            "The pilot site's priorities change; Adatum's ownership changes; the integration is "
            "harder than the spike suggests.",
            "The pilot site's operations come first. Results are published jointly or not at "
            "all. Either side may stop the pilot with 30 days' notice.",
        ),
        lead_contacts=("dev", "tomas", "sam"),
        partner_contacts=("grace", "olu"),
        fit="3433432",
        triggers=(
            Trigger("Adatum changes ownership", "Pause the pilot and re-confirm sponsorship"),
            Trigger(
                "The pilot site withdraws",
                "Decide within 30 days whether to find another site or stop",
            ),
        ),
        history=(
            Advance(
                290,
                "Pilot site confirmed; moving on to governance.",
                unmet=(4,),
                override="Both sides want to see the pilot site running before naming exit "
                "scenarios; they will be written during governance.",
            ),
        ),
        ticked=1,
        notes=(
            Note(280, "dev", "Site visit done; the fleet API spike is scheduled."),
            Note(
                108,
                "ada",
                "Adatum's new owner has frozen all new partnerships this year. We are archiving "
                "the pilot and will revisit next year.",
            ),
            Note(
                105,
                "dev",
                "Keep the integration spike: it works for other robot vendors too.",
                INTERNAL,
            ),
        ),
        archived_days_ago=100,
    ),
    AllianceSpec(
        name="Woodgrove Embedded Payments",
        lead="northwind",
        owner="ada",
        partner=None,
        partner_name="Woodgrove Bank",
        partner_people="woodgrove",
        invite="leo",
        model=AllianceModel.ECOSYSTEM,
        importance=4,
        created_days_ago=12,
        thesis=thesis(
            "Let Northwind customers pay suppliers straight from an approved purchase plan, on "
            "Woodgrove Bank's payment rails.",
            "Add embedded payments to the planning suite to keep customers longer and open a "
            "revenue stream that grows with their volume.",
            "Becoming a payment provider would bring regulation we have no appetite for; "
            "Woodgrove wants business payment volume without building planning software.",
            "- Supplier payments inside the suite for UK customers\n"
            "- 50 customers using it every month\n"
            "- Revenue share covering the integration cost within 18 months",
            "Product integration, access to customers and in-product onboarding.",
            "Payment rails, compliance checks and the banking licence.",
            "Domestic supplier payments in pounds for UK customers.",
            "Lending and trade finance; consumer payments; other currencies in the first year.",
            "- Customers trust a bank-backed payment inside planning software (check: ten "
            "customer interviews)\n"
            "- Woodgrove onboards a customer in under three days (check: two test onboardings)",
            "Regulatory scope creep; slow onboarding at the bank; unclear liability for failed "
            "payments.",
            "Compliance questions are Woodgrove's to decide and customer-experience questions "
            "Northwind's. No launch without a tested failure-and-refund process.",
        ),
        lead_contacts=("ada", "dev", "marcus"),
        partner_contacts=("frances", "leo"),
        fit="4433344",
        triggers=(
            Trigger(
                "The regulator changes its rules on embedded payments",
                "Legal review of the operating model before any more build",
            ),
            Trigger(
                "Customer onboarding at Woodgrove takes more than five days",
                "Walk through the customer journey with Woodgrove's operations team",
            ),
        ),
        ticked=2,
        notes=(
            Note(
                10,
                "ada",
                "Met Frances at the fintech forum. Woodgrove is keen and has a team ready.",
                INTERNAL,
            ),
            Note(
                4,
                "dev",
                "Invitation sent to Leo. We share the thesis draft once Woodgrove has joined.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Contoso Manufacturing Cloud Launch",
        lead="contoso",
        owner="ben",
        partner="northwind",
        model=AllianceModel.ECOSYSTEM,
        importance=3,
        created_days_ago=300,
        start_in_days=-280,
        renewal_in_days=450,
        thesis=thesis(
            "Make Northwind one of the launch applications of Contoso's Manufacturing Cloud, "
            "sharing its identity and data model.",
            "Give the Manufacturing Cloud a credible planning application at launch and a "
            "blueprint for bringing further partners on board.",
            "Contoso will not build planning software, and an ecosystem of certified partners "
            "is the product's whole promise. One partnership per application keeps each partner "
            "accountable for its own product.",
            "- Northwind certified on the common data model\n"
            "- Listed as a launch application\n"
            "- 25 customers activating Northwind from the Manufacturing Cloud console",
            "The common data model, identity integration, launch marketing and a partner "
            "development manager.",
            "The integration work, launch customers and feedback on the data model.",
            "Certification, the launch listing and joint launch marketing.",
            "Revenue guarantees; exclusivity in the planning category; custom work for single "
            "customers.",
            "- The common data model covers planning without extensions (check: Northwind's "
            "mapping exercise)\n"
            "- Launch customers activate through the console rather than directly (check: "
            "activation data)",
            "Gaps in the data model push costly extensions onto partners; the launch slips; "
            "Northwind's effort outweighs the leads it receives.",
            "The common data model changes only through the ecosystem council. Partners are "
            "treated alike. Commercial terms stay between each partner and Contoso.",
        ),
        # Five a side, so each side's view of the perception gap has enough answers to show.
        lead_contacts=("rhea", "ben", "hiro", "kwame", "julia"),
        partner_contacts=("ada", "dev", "tomas", "priya", "lena"),
        fit="4444343",
        triggers=(
            Trigger(
                "The Manufacturing Cloud launch slips by more than a quarter",
                "Re-plan the joint marketing and tell launch customers",
            ),
            Trigger(
                "Contoso admits a second planning application",
                "Review Northwind's investment in the integration",
            ),
        ),
        history=(
            Advance(270, "Northwind accepted as a launch partner; thesis agreed."),
            Advance(200, "Certification criteria and the ecosystem council's rules agreed."),
        ),
        ticked=1,
        notes=(
            Note(
                260,
                "ben",
                "Welcome aboard. The data model workshop is on the 3rd; please bring your "
                "integration architect.",
            ),
            Note(
                190,
                "dev",
                "Mapping done: two planning entities need extensions. Raised with the ecosystem "
                "council.",
            ),
            Note(
                150,
                "ben",
                "Northwind is our most responsive launch partner; feature them in the partner "
                "newsletter.",
                INTERNAL,
            ),
            Note(
                120,
                "ada",
                "Contoso treats us as one of forty partners. Keep our effort in proportion to the "
                "leads we actually get.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Wingtip Cold-Chain Logistics",
        lead="fabrikam",
        owner="cy",
        partner="wingtip",
        model=AllianceModel.COMPLEMENTARY,
        importance=5,
        created_days_ago=500,
        start_in_days=-480,
        renewal_in_days=250,
        thesis=thesis(
            "Move Fabrikam's chilled products from plant to store within temperature limits, "
            "using Wingtip's cold-chain network and shared tracking data.",
            "Bring spoilage in transit below 1% and open direct-to-store delivery in two new "
            "regions.",
            "A refrigerated fleet of our own would take capital we would rather put into "
            "production, and a plain carrier contract gives neither the shared data nor the "
            "joint planning we need.",
            "- Spoilage in transit under 1%\n"
            "- Direct-to-store delivery in the North and the Midlands\n"
            "- Temperature data shared for every shipment",
            "Volume commitments, production schedules shared a week ahead, and packaging changes.",
            "The refrigerated fleet and depots, temperature telemetry and a dedicated planning "
            "desk.",
            "Chilled and frozen products from both Fabrikam plants to retail customers' stores.",
            "Ambient products; exports; routes Wingtip runs for other customers.",
            "- Shared schedules let Wingtip consolidate loads (check: load factor after 90 "
            "days)\n"
            "- Telemetry is complete enough to settle claims (check: audit of 200 shipments)",
            "Fuel price swings; driver shortages; disputes over who pays for spoiled loads.",
            "Temperature data decides spoilage claims. Cost increases are shared by a published "
            "formula. Either side may call a review after any serious food-safety incident.",
        ),
        lead_contacts=("oona", "cy", "bea"),
        partner_contacts=("chloe", "ravi", "emma"),
        fit="5534454",
        triggers=(
            Trigger(
                "Diesel costs more than 15% above the contract baseline",
                "Apply the fuel formula and review routes together",
                fired_days_ago=25,
                fired_note="Diesel has been 17% above the baseline since last month; the fuel "
                "formula is applied and a route review is booked.",
            ),
            Trigger(
                "Spoilage in transit above 2% in any month",
                "Joint root-cause review within two weeks",
            ),
            Trigger(
                "A serious food-safety incident involves a Wingtip shipment",
                "Stop the affected routes and convene both sponsors",
            ),
        ),
        history=(
            Advance(470, "Both sponsors signed the thesis after the plant visit."),
            Advance(400, "Claims rules, data sharing and the escalation path agreed."),
        ),
        ticked=3,
        notes=(
            Note(390, "cy", "Kickoff at the Leeds depot; the planning desk starts on Monday."),
            Note(200, "cy", "Spoilage fell to 0.8% this quarter, below target for the first time."),
            Note(24, "cy", "Fuel formula applied from this month. Route review on Thursday."),
            Note(
                20,
                "cy",
                "Wingtip's driver shortage is worse than they admit. Line up a backup carrier "
                "for the North.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Adatum Predictive Maintenance R&D",
        lead="fabrikam",
        owner="cy",
        partner="adatum",
        model=AllianceModel.COMPLEMENTARY,
        importance=4,
        created_days_ago=700,
        start_in_days=-680,
        renewal_in_days=90,
        thesis=thesis(
            "Develop with Adatum models that predict failures on Fabrikam's packaging lines "
            "before they stop production.",
            "Cut unplanned downtime on packaging lines by 30% and own the resulting models for "
            "our plants.",
            "We lack data-science capacity and Adatum lacks access to real production lines. A "
            "joint R&D programme gives both what they need without an acquisition.",
            "- Failure-prediction models on every packaging line at one plant\n"
            "- Unplanned downtime down 30% at that plant\n"
            "- A decision on rolling out to the second plant",
            "Line data, maintenance engineers' time and a test line.",
            "Data scientists, the modelling platform and sensor integration.",
            "Packaging lines at the Hull plant; vibration and temperature sensors.",
            "Production lines other than packaging; selling the models to anyone else during "
            "this term.",
            "- Existing sensors give enough signal (check: model precision after 60 days)\n"
            "- Maintenance teams act on predictions (check: work orders raised from alerts)",
            "Too few failures to learn from; maintenance teams ignoring alerts; disagreement "
            "over who owns the models.",
            "Fabrikam owns models trained on its data; Adatum keeps its platform and general "
            "methods. Results are reviewed jointly before anything is published.",
        ),
        lead_contacts=("oona", "cy", "raj"),
        partner_contacts=("grace", "olu", "sven"),
        fit="4543434",
        triggers=(
            Trigger(
                "Model precision below 70% for two months",
                "Joint model review and a retraining plan",
            ),
            Trigger(
                "Adatum changes ownership",
                "Re-confirm the IP terms and sponsorship",
                fired_days_ago=105,
                fired_note="Adatum's acquisition has closed; the new owner confirms the "
                "programme continues, and the IP terms are to be re-confirmed.",
            ),
        ),
        history=(
            Advance(670, "Thesis agreed; the Hull plant is the test site."),
            Advance(610, "Model ownership, data terms and the review board agreed."),
            Advance(
                100,
                "Eighteen months of results: downtime down 24% at Hull. Evaluating before the "
                "renewal.",
            ),
        ),
        ticked=2,
        notes=(
            Note(600, "cy", "Sensors on lines 3 to 7 now stream to Adatum's platform."),
            Note(
                300,
                "cy",
                "First stoppage prevented: a bearing on line 5 was replaced a day before the "
                "predicted failure.",
            ),
            Note(
                95,
                "cy",
                "The downtime gain is real but below target. Extend to the second plant only if "
                "Adatum lowers its fee.",
                INTERNAL,
            ),
        ),
    ),
    AllianceSpec(
        name="Litware Food-Safety Training",
        lead="fabrikam",
        owner="cy",
        partner="litware",
        model=AllianceModel.COMPLEMENTARY,
        importance=2,
        created_days_ago=150,
        start_in_days=-120,
        renewal_in_days=600,
        thesis=thesis(
            "Give every Fabrikam line worker short food-safety courses on the shop floor, "
            "produced and hosted by Litware.",
            "Reach full completion of annual food-safety training at both plants and halve "
            "hygiene findings in audits.",
            "Litware already runs compliance academies on a mobile platform that works on the "
            "shop floor; writing courses ourselves would take our quality team away from audits.",
            "- All 900 line workers trained every year\n"
            "- Hygiene audit findings halved\n"
            "- Courses in English, Polish and Portuguese",
            "Quality experts, plant procedures and paid time on shift for training.",
            "Course production, the mobile learning platform and completion reports.",
            "Food-safety and hygiene training for line workers at both plants.",
            "Management training; health-and-safety courses; other Fabrikam sites.",
            "- Workers finish ten-minute modules on shift (check: completion in the first "
            "month)\n"
            "- Auditors accept Litware's completion reports (check: the next audit)",
            "Litware's sponsor leaves and the work loses priority; late translations; shift "
            "managers who do not release time.",
            "Course content follows Fabrikam's procedures to the letter. Litware owns the "
            "platform. Completion data stays with Fabrikam.",
        ),
        lead_contacts=("oona", "cy", "bea"),
        partner_contacts=("elif", "noah"),
        fit="4443442",
        red_flags={
            FitCriterion.SPONSORSHIP: "Litware's sponsor leaves in June and no successor has "
            "been named.",
        },
        triggers=(
            Trigger(
                "Litware's executive sponsor leaves without a named successor",
                "Sponsor call to re-confirm commitment",
            ),
            Trigger(
                "A hygiene audit finding is traced to course content",
                "Correct the module within a week",
            ),
        ),
        history=(Advance(110, "Scope and languages agreed; exit scenarios named in the thesis."),),
        ticked=2,
        notes=(
            Note(100, "cy", "Litware shared the storyboard of the first module for review."),
            Note(
                60,
                "cy",
                "If Elif leaves without a successor, pause before signing the production order.",
                INTERNAL,
            ),
        ),
    ),
]

# --- building ---------------------------------------------------------------------------------


# --- governance -------------------------------------------------------------------------------
# Every alliance past formation (and not archived) gets bodies, a year and more of meetings,
# decisions, actions, escalations and a risk register. The meetings, attendance and dates are
# derived from these tables by ``seed_demo``; the words are here.

LEAD, PARTNER = "lead", "partner"


@dataclass(frozen=True)
class DemoRisk:
    title: str
    category: str  # a governance.models.RiskCategory value
    likelihood: int
    impact: int
    mitigation: str
    side: str = LEAD  # whose register it is on
    visibility: str = SHARED
    status: str = "open"


@dataclass(frozen=True)
class GovernancePlan:
    topic: str  # what the bodies talk about, for agendas and notes
    decisions: tuple[tuple[str, str], ...]  # (decision, rationale), oldest first
    actions: tuple[str, ...]  # raised in council meetings, in turn
    escalations: tuple[str, ...]  # oldest first; the last one may still be open
    risks: tuple[DemoRisk, ...]
    working_team: str = ""  # the weekly team's name, for alliances in execution
    open_escalation: str = ""  # "overdue" (past its SLA), "within" (inside its SLA) or ""
    lead_attendance: int = 90  # per cent of members who come, on average
    partner_attendance: int = 85
    skip_last_council: bool = False  # the latest council meeting did not happen


# Decisions every alliance takes now and then, between its own.
ROUTINE_DECISIONS = (
    ("Approve next quarter's plan for the {topic}", "Targets and owners agreed by both leads."),
    ("Keep the risk register review as a standing council item", "Two risks grew unnoticed."),
    ("Move the council to the first Tuesday of the month", "It clashed with quarter-end."),
    ("Confirm the joint budget for the {topic}", "Spend is in line with the plan."),
    ("Publish the council minutes to both sides within two days", "People acted on hearsay."),
    ("Review the decision-rights matrix at the next steering committee", "Two SLAs ran out."),
)

# Shared actions done in answer to an alert or a health review: "you said, we did".
RESPONSE_ACTIONS = (
    ("alert", "Hold a joint root-cause session on the falling health score",
     "The early-warning alert showed trust dropping on both sides."),
    ("health_review", "Name one escalation contact per side and publish them",
     "People said issues bounced between teams."),
    ("health_review", "Send a one-page summary after every council meeting",
     "People said they did not know what had been decided."),
    ("alert", "Restart the monthly one-to-one of the two alliance managers",
     "The alert flagged a drop in partner responses."),
)  # fmt: skip


def plan(**fields) -> GovernancePlan:
    return GovernancePlan(**fields)


R = DemoRisk
GOVERNANCE: dict[str, GovernancePlan] = {
    "Northwind + Contoso Cloud Co-Sell": plan(
        topic="joint mid-market pipeline",
        working_team="Co-sell pipeline team",
        open_escalation="overdue",
        decisions=(
            ("Register joint opportunities in both CRMs within five working days",
             "Double entry was losing deals; five days matches both sides' pipeline reviews."),
            ("Give Contoso-led field events 60% of the joint marketing fund",
             "Their events produced twice the pipeline per euro last half-year."),
            ("Trial the healthcare vertical in the co-sell scope for two quarters",
             "Three inbound requests; a trial limits the exposure if it fails."),
            ("Retire the quarterly joint webinar series",
             "Attendance fell below forty for three editions; the budget moves to events."),
        ),
        actions=(
            "Reconcile the joint pipeline between the two CRMs",
            "Publish the updated co-sell rules of engagement",
            "Name one deal-desk contact per region",
            "Draft the joint case study with the Lisbon retailer",
            "Refresh the partner sales training deck",
        ),
        escalations=(
            "Channel conflict on the Meridian Foods deal",
            "Deal registration rejected after the five-day window",
            "Contoso field team selling a competing analytics add-on",
        ),
        risks=(
            R("Contoso sellers earn more on their own add-on than on co-sell deals", "commercial",
              4, 4, "Ask Contoso to align its incentive plan for next fiscal year."),
            R("Pipeline data in the two CRMs drifts apart", "dependency", 3, 3,
              "Weekly reconciliation by the pipeline team.", status="mitigating"),
            R("Co-sell specialists leave during Contoso's reorganisation", "resourcing", 2, 4,
              "Cross-train two sellers per region.", side=PARTNER),
            R("We depend on Contoso's marketplace for 40% of new customers", "strategic_drift",
              3, 5, "Build a direct pipeline for the top twenty accounts.", visibility=INTERNAL),
            R("Northwind could list directly on a rival marketplace", "strategic_drift", 2, 4,
              "Keep the joint roadmap briefing every quarter.", side=PARTNER,
              visibility=INTERNAL),
        ),
    ),
    "Contoso Data Platform Connector": plan(
        topic="one-way data connector",
        open_escalation="within",
        decisions=(
            ("Limit the first release to a one-way feed from the platform",
             "Two-way sync doubled the security review; pilot customers asked for one-way."),
            ("Keep connector logs in the EU region only",
             "Three pilot customers are bound by EU data residency."),
            ("Pause the build until the data-processing addendum is signed",
             "Legal advised against moving customer data without it."),
        ),
        actions=(
            "Send the redlined data-processing addendum to Contoso legal",
            "Agree the field mapping for the customer object",
            "Share the penetration-test report",
            "Confirm the pilot customers' data-residency needs",
        ),
        escalations=(
            "Who owns connector support tickets",
            "Data-processing addendum stuck in legal review",
            "Contoso API rate limits block the nightly load",
        ),
        risks=(
            R("The data-processing addendum is not signed in time", "regulatory", 4, 4,
              "Weekly call between the two legal teams until signature."),
            R("Contoso changes its public API before our release", "dependency", 3, 4,
              "Pin the API version; Contoso gives ninety days' notice.", side=PARTNER),
            R("Too few Contoso engineers on the integration", "resourcing", 3, 3,
              "Kwame to confirm two engineers for the next quarter.", side=PARTNER),
            R("Our legal team will not accept unlimited liability for data loss", "ip_data", 3, 5,
              "Offer a liability cap tied to annual fees.", visibility=INTERNAL),
            R("Northwind may use the connector to move customers off our platform",
              "strategic_drift", 2, 4, "Keep the feed one-way and the contract exclusive.",
              side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Retail Demand Sensing with Contoso": plan(
        topic="demand-sensing pilots with retailers",
        open_escalation="overdue",
        partner_attendance=48,
        skip_last_council=True,
        decisions=(
            ("Extend the pilot with the Nordic grocer by one quarter",
             "Forecast error fell 11%, but the seasonal effects are not visible yet."),
            ("Share anonymised sell-through data weekly rather than daily",
             "Daily feeds cost more than they add for a weekly replenishment cycle."),
            ("Set 85% forecast accuracy as the bar for scaling up",
             "Both finance teams agreed the bar pays back the integration cost."),
            ("Assess the alliance against its thesis before the next budget round",
             "Partner engagement has dropped; the evaluation must inform the renewal."),
        ),
        actions=(
            "Send the pilot accuracy report to the steering members",
            "Re-confirm Contoso's data-science capacity for next quarter",
            "Book the evaluation workshop",
            "Collect retailer feedback on the replenishment suggestions",
        ),
        escalations=(
            "Contoso data scientists reassigned without notice",
            "Retailer data-sharing terms disputed",
            "Evaluation criteria still not agreed after three councils",
        ),
        risks=(
            R("Contoso's engagement keeps falling: its people miss council meetings", "cultural",
              4, 4, "Sponsors to restate the commitment at the steering committee."),
            R("Retailers withdraw consent for sell-through data", "ip_data", 2, 5,
              "Anonymise at source and renew consents yearly."),
            R("Forecast accuracy stalls below the 85% bar", "strategic_drift", 3, 4,
              "Add weather and promotion signals to the model.", side=PARTNER),
            R("We may exit and build the model ourselves", "strategic_drift", 3, 3,
              "Cost the in-house option before the evaluation.", visibility=INTERNAL),
            R("Our sponsor moves to another division", "resourcing", 3, 4,
              "Brief a successor sponsor now.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Connected Field Service with Contoso": plan(
        topic="connected field-service pilots",
        open_escalation="within",
        decisions=(
            ("Keep both equipment-maker pilots running through the renewal talks",
             "Both pilots hit their uptime targets; stopping them would lose the references."),
            ("Stop adding pilot sites until the renewal decision",
             "Contoso's IoT hub is being folded into its edge platform."),
            ("Cost renew, restructure and exit options for the steering committee",
             "The platform change alters the economics; all three need a costed case."),
        ),
        actions=(
            "Cost the migration of the pilots to Contoso's edge platform",
            "Ask both equipment makers for renewal references",
            "Draft the exit plan for devices in the field",
            "Compare service-ticket volumes before and after the pilots",
        ),
        escalations=(
            "Field technicians lack access to device telemetry",
            "Who pays to migrate devices to the new edge platform",
            "Renewal options paper late",
        ),
        risks=(
            R("Contoso retires the IoT hub before the pilots migrate", "dependency", 4, 5,
              "Agree a twelve-month support overlap in the renewal."),
            R("Field devices cannot be updated remotely", "other", 2, 4,
              "Schedule on-site updates with the next service visits.", side=PARTNER),
            R("The renewal lapses without a decision", "commercial", 3, 4,
              "Steering committee decides at its next meeting."),
            R("Our product team wants to build edge support in-house", "strategic_drift", 3, 3,
              "Put the build-or-partner question to the sponsors.", visibility=INTERNAL),
            R("Edge-platform pricing undercuts the joint offer", "commercial", 3, 3,
              "Model bundle pricing before the renewal.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Tailspin APAC Reseller Agreement": plan(
        topic="APAC reseller pipeline",
        decisions=(
            ("Require two certified engineers per Tailspin region",
             "Customers in Singapore waited weeks for certified help."),
            ("Drop the reseller discount for deals under fifty seats",
             "Small deals cost more to support than they earned."),
            ("Wind the agreement down by the end of the quarter",
             "Tailspin's evaluation shows the economics do not work; both sides agreed to exit."),
        ),
        actions=(
            "Transfer the six live customers' support contracts",
            "Close the shared deal-registration portal",
            "Write the lessons-learned note",
            "Settle the final quarter's commission",
        ),
        escalations=(
            "Support split for the Jakarta customer",
            "Commission dispute on the Melbourne renewal",
            "Customer transfer timeline",
        ),
        risks=(
            R("Live customers churn during the transfer", "commercial", 3, 4,
              "A named Northwind contact for each customer.", status="mitigating"),
            R("Tailspin loses its certified engineers before the handover", "resourcing", 4, 3,
              "Retention bonus until the handover.", side=PARTNER, status="closed"),
            R("Our reputation in APAC suffers from the exit", "strategic_drift", 2, 3,
              "Joint customer letter explaining the transfer.", visibility=INTERNAL,
              status="accepted"),
            R("Commission from the final quarter stays unpaid", "commercial", 2, 3,
              "Settle before the agreement ends.", side=PARTNER, visibility=INTERNAL,
              status="closed"),
        ),
    ),
    "Litware Planner Academy": plan(
        topic="planner certification courses",
        working_team="Course production team",
        open_escalation="overdue",
        decisions=(
            ("Launch the administrator path before the analyst path",
             "Administrators raise 70% of support tickets."),
            ("Split course revenue 70/30 in Litware's favour for the first year",
             "Litware carries the production cost."),
            ("Rewrite the multi-site module with worked examples",
             "Learners fail that module twice as often as any other."),
            ("Offer a free retake of the multi-site exam this quarter",
             "The pass rate fell to 52%; retakes keep learners while the content is fixed."),
        ),
        actions=(
            "Record the new multi-site module",
            "Review the exam questions with the product team",
            "Publish the course catalogue on the Northwind help centre",
            "Set up pass-rate reporting per module",
            "Translate the planner path into German",
        ),
        escalations=(
            "Course screenshots out of date after the spring release",
            "Review rights over course content",
            "Exam platform outage in launch week",
        ),
        risks=(
            R("Product releases outdate the course content every quarter", "dependency", 4, 3,
              "Release notes go to Litware four weeks ahead."),
            R("Low pass rates damage the certification's name", "strategic_drift", 3, 4,
              "Rewrite the weakest module; free retakes.", side=PARTNER),
            R("Litware's two instructional designers are a single point of failure",
              "resourcing", 3, 3, "Litware to contract a third designer.", side=PARTNER),
            R("Our support team may publish a rival free course", "cultural", 2, 3,
              "Bring support into the content reviews.", visibility=INTERNAL),
            R("Northwind could move the academy in-house after year one", "strategic_drift",
              2, 4, "Show the revenue figures every quarter.", side=PARTNER,
              visibility=INTERNAL),
            R("Learner data held under two privacy policies", "ip_data", 2, 3,
              "One joint privacy notice for the academy."),
        ),
    ),
    "Contoso Manufacturing Cloud Launch": plan(
        topic="manufacturing cloud launch",
        working_team="Launch readiness team",
        open_escalation="within",
        decisions=(
            ("Certify Northwind's scheduler as a launch workload",
             "It passed the reference-architecture review with no blockers."),
            ("Move the launch event from March to May",
             "Two launch partners were not certified in time."),
            ("Pass launch-partner leads on within 48 hours",
             "Partners lost leads that waited a week."),
        ),
        actions=(
            "Finish the reference-architecture certification",
            "Record the joint launch demo",
            "Agree the wording of the launch press release",
            "Load Northwind's listing into the marketplace",
        ),
        escalations=(
            "Certification test environment unavailable",
            "Logo placement in the launch materials",
            "Lead routing between launch partners",
        ),
        risks=(
            R("Certification slips and Northwind misses the launch", "dependency", 3, 4,
              "Weekly readiness check in the launch team."),
            R("Other launch partners overlap with Northwind's scheduler", "commercial", 3, 3,
              "Agree positioning per industry segment.", side=PARTNER),
            R("The launch date moves again", "strategic_drift", 2, 4,
              "Freeze the launch scope now."),
            R("Northwind favours another cloud marketplace", "strategic_drift", 2, 3,
              "Offer co-marketing funds tied to the launch.", visibility=INTERNAL),
            R("Contoso's launch team is stretched across twelve partners", "resourcing", 4, 3,
              "Ask for a named launch manager.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Wingtip Cold-Chain Logistics": plan(
        topic="cold-chain deliveries",
        working_team="Cold-chain operations team",
        open_escalation="overdue",
        decisions=(
            ("Adopt a shared temperature-excursion claims rule",
             "Claims took six weeks to settle without one."),
            ("Install data loggers on every reefer trailer",
             "Manual logs could not settle two disputed claims."),
            ("Add a fuel surcharge band above 15% over the baseline",
             "Diesel has been 17% above the baseline for a month."),
        ),
        actions=(
            "Roll out data loggers on the remaining trailers",
            "Agree the surcharge formula with finance",
            "Audit the Rotterdam cross-dock",
            "Train drivers on the excursion procedure",
        ),
        escalations=(
            "Disputed claim for the Antwerp shipment",
            "Late deliveries to the Hull plant",
            "Fuel surcharge not in the agreed tariff",
        ),
        risks=(
            R("Fuel prices stay above the surcharge band", "commercial", 4, 3,
              "Review the band every quarter."),
            R("Temperature excursions on long routes", "other", 3, 5,
              "Data loggers with live alerts.", side=PARTNER, status="mitigating"),
            R("Driver shortage in peak season", "resourcing", 3, 4,
              "Book agency drivers by September.", side=PARTNER),
            R("Wingtip may price us out at renewal", "commercial", 3, 3,
              "Get a second quote before the renewal.", visibility=INTERNAL),
            R("Fabrikam's volumes fall below the agreed minimum", "strategic_drift", 2, 4,
              "Find a second shipper for the return legs.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Adatum Predictive Maintenance R&D": plan(
        topic="predictive-maintenance models at the Hull plant",
        open_escalation="within",
        decisions=(
            ("Extend sensor coverage to the second press line",
             "The first line's model caught three failures early."),
            ("Keep the model IP jointly owned; licences need both sides' consent",
             "The new owner asked to confirm the original terms."),
            ("Evaluate the R&D results against the thesis",
             "The acquisition closed; the new owner wants evidence before funding more."),
        ),
        actions=(
            "Write up the false-alarm rates for the evaluation",
            "Confirm the new owner's sponsor",
            "Archive the labelled failure dataset",
            "Estimate the saving from avoided downtime",
        ),
        escalations=(
            "Access to raw sensor data after the acquisition",
            "Publication of the joint paper",
            "Model retraining schedule",
        ),
        risks=(
            R("The new owner deprioritises the R&D programme", "strategic_drift", 3, 5,
              "Present the downtime savings to the new board."),
            R("Sensor data leaves the plant's network", "ip_data", 2, 5,
              "Models train on site; only weights leave."),
            R("The lead data scientist leaves", "resourcing", 2, 4,
              "Pair Sven with a second scientist.", side=PARTNER),
            R("Adatum licenses the model to our competitors", "ip_data", 2, 5,
              "Hold the consent clause; watch the new owner's deals.", visibility=INTERNAL),
            R("Fabrikam stops after the evaluation", "strategic_drift", 3, 3,
              "Line up a second plant as a fallback.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
    "Litware Food-Safety Training": plan(
        topic="food-safety training in three languages",
        open_escalation="within",
        decisions=(
            ("Start with English and Portuguese; Finnish follows",
             "Two of the three plants work in those languages."),
            ("Make Fabrikam's quality manager the subject-matter reviewer",
             "The audit findings must shape the content."),
        ),
        actions=(
            "Send the audit findings to Litware's content team",
            "Agree the module list",
            "Book the Porto pilot session",
        ),
        escalations=(
            "Review turnaround for draft modules",
            "Who pays for the translations",
            "Pilot date at the Porto plant",
        ),
        risks=(
            R("Translations lag behind the English course", "resourcing", 3, 3,
              "Translate module by module, not at the end."),
            R("The content misses an audit requirement", "regulatory", 2, 5,
              "Beatriz signs off every module."),
            R("Plants cannot release staff for training", "resourcing", 4, 3,
              "Short modules that fit a shift change.", visibility=INTERNAL),
            R("Fabrikam's budget is approved one year at a time", "commercial", 3, 3,
              "Price the second year as an option.", side=PARTNER, visibility=INTERNAL),
        ),
    ),
}  # fmt: skip
