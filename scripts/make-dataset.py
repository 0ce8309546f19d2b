#!/usr/bin/env python3
"""Generate datasets/acme-support: a small, license-clean (CC0) customer-support chat dataset for Tailor.

The company and product are invented (Brindlepay, an invoicing app by Olmsworth Kettle Software), so a base
model cannot already know the answers: after tuning, the facts it states come from this data. Every
conversation is built from the fact sheet below: question paraphrases x answer phrasings x small-talk
(greetings, thanks, follow-ups, multi-turn). Each answer states its fact exactly, in 1-3 short sentences.

Writes (all under datasets/acme-support/):

  train.jsonl, valid.jsonl            {"messages": [{"role", "content"}, ...]}, system prompt first
  text/train.jsonl, text/valid.jsonl  the same conversations as {"text": ...}, rendered the way SmolLM2's chat
                                      template renders them: "<|im_start|>{role}\\n{content}<|im_end|>\\n" per
                                      message (a system message is present, so no default one is injected;
                                      no generation prompt)
  heldout.jsonl                       {"question", "expect", "fact"}: new paraphrases for a demo; a tuned model's
                                      answer should contain `expect`
  system.txt                          the system prompt (for `tailor generate --chat --system "$(cat ...)"`)
  README.md                           what this is, counts, lengths, the fact sheet

Question phrasings are split three ways: train, valid and heldout never share one (checked on normalized
text, follow-up questions included). Python 3.11 standard library only; a fixed seed makes two runs
byte-identical.

Usage: python3 scripts/make-dataset.py
"""

import json
import random
import re
import sys
from pathlib import Path

SEED = 135
N_TRAIN = 2400
N_VALID = 200
OUT = Path(__file__).resolve().parent.parent / "datasets" / "acme-support"

# ---------------------------------------------------------------------------------------------------------
# Fact sheet. Every name, number, address and URL here is invented (.example is a reserved domain, RFC 2606;
# 555-01xx numbers are reserved for fiction).

PRODUCT = "Brindlepay"
COMPANY = "Olmsworth Kettle Software"
ASSISTANT = "Brin"
SYSTEM = f"You are {ASSISTANT}, the support assistant for {PRODUCT} by {COMPANY}. Answer briefly and accurately."

PLANS = [  # name, USD per month, max users, SSO
    ("Sprout", 8, 2, False),
    ("Grove", 26, 15, False),
    ("Canopy", 64, 100, True),
]
EMAIL = "support@brindlepay.example"
PHONE = "+1-555-0142"
PHONE_HOURS = "Monday to Friday, 7 am to 5 pm Mountain Time"
REFUND_DAYS = 45
TRIAL_DAYS = 21
ANNUAL_DISCOUNT = "15%"
EXPORT_NAME = "Snapshot Export"
EXPORT_PATH = "Reports > Snapshot Export"
EXPORT_FORMATS = "CSV, XLSX and PDF"
SHORTCUT = "Ctrl+Alt+N"
SHORTCUT_MAC = "Cmd+Option+N"
RETENTION_DAYS = 90
VERSION = "4.7.2"
API_KEY_PATH = "Settings > Developer > API Keys"
TWO_FA_PATH = "Settings > Security > Two-Factor Authentication"
CHANGE_PLAN_PATH = "Settings > Billing > Change Plan"
STATUS_URL = "https://status.brindlepay.example"
MOBILE_APP = "Brindlepay Go"
RECURRING = "Autopilot Invoices"
CURRENCIES = 38
RESET_LINK_MINUTES = 30

FACT_SHEET = [
    ("Product", f"{PRODUCT}, an invoicing and billing app for small businesses"),
    ("Company", COMPANY),
    ("Support assistant", ASSISTANT),
    ("Plans", ", ".join(f"{n} ${p}/month" for n, p, _, _ in PLANS) + " (flat price per workspace)"),
    ("Max users", ", ".join(f"{n} {u}" for n, _, u, _ in PLANS)),
    ("SSO (SAML)", "Canopy plan only"),
    ("Annual billing", f"saves {ANNUAL_DISCOUNT} on any plan"),
    ("Free trial", f"{TRIAL_DAYS} days, no credit card required"),
    ("Refund window", f"full refund within {REFUND_DAYS} days of purchase"),
    ("Support email", EMAIL),
    ("Phone support", f"{PHONE}, {PHONE_HOURS}"),
    ("Export feature", f"{EXPORT_NAME} ({EXPORT_PATH}): {EXPORT_FORMATS}"),
    ("New-invoice shortcut", f"{SHORTCUT} ({SHORTCUT_MAC} on Mac)"),
    ("Data retention", f"{RETENTION_DAYS} days after cancellation, then permanently deleted"),
    ("Current version", VERSION),
    ("API keys", API_KEY_PATH),
    ("Two-factor authentication", f"{TWO_FA_PATH} (authenticator app)"),
    ("Change plan", f"{CHANGE_PLAN_PATH}; upgrades immediate and prorated"),
    ("Status page", STATUS_URL),
    ("Mobile app", f"{MOBILE_APP} (iOS and Android)"),
    ("Recurring invoices", f"{RECURRING} (weekly, monthly or yearly schedules)"),
    ("Currencies", f"{CURRENCIES} currencies, including USD, EUR and GBP"),
    ("Password reset", f"'Forgot password?' on the sign-in page; link valid {RESET_LINK_MINUTES} minutes"),
]

# ---------------------------------------------------------------------------------------------------------
# Units: one fact each. train / valid hold disjoint question paraphrases; every answer contains `expect`.


def unit(uid, expect, train, valid, answers, weight=1.0):
    return {"id": uid, "expect": expect, "train": train, "valid": valid, "answers": answers, "weight": weight}


PLAN_LIST = "Sprout, Grove and Canopy"
UNITS = [
    unit("identity", ASSISTANT, [
        "Who are you?",
        "What's your name?",
        "Am I talking to a real person?",
        "Are you a bot?",
        "What should I call you?",
        "Who am I chatting with?",
        "Are you human?",
        "What are you?",
    ], [
        "Is this an automated assistant?",
        "Introduce yourself, please.",
    ], [
        f"I'm {ASSISTANT}, the support assistant for {PRODUCT} by {COMPANY}. How can I help?",
        f"My name is {ASSISTANT}. I'm {PRODUCT}'s automated support assistant, here to answer your questions.",
        f"I'm {ASSISTANT}, an automated support assistant for {PRODUCT}. Ask me anything about the app.",
    ], weight=0.6),
    unit("product", COMPANY, [
        f"What is {PRODUCT}?",
        f"Who makes {PRODUCT}?",
        f"What does {PRODUCT} do?",
        f"Which company develops {PRODUCT}?",
        f"Can you tell me what {PRODUCT} is?",
        f"Who is behind {PRODUCT}?",
        f"What kind of software is {PRODUCT}?",
        "Who built this app?",
        f"Which company is {PRODUCT} from?",
    ], [
        f"Give me a one-line description of {PRODUCT}.",
        f"Who's the vendor of {PRODUCT}?",
    ], [
        f"{PRODUCT} is an invoicing and billing app for small businesses, made by {COMPANY}.",
        f"{PRODUCT} is made by {COMPANY}. It's an invoicing and billing app for small businesses.",
        f"{COMPANY} develops {PRODUCT}, an invoicing and billing app for small businesses.",
    ]),
    unit("plans", PLAN_LIST, [
        "What plans do you offer?",
        "Which plans are available?",
        f"What pricing tiers does {PRODUCT} have?",
        "How many plans are there?",
        "What are my plan options?",
        f"List the {PRODUCT} plans.",
        "What subscriptions can I choose from?",
        "What are the different plans called?",
        f"How much does {PRODUCT} cost?",
        "What are your prices?",
    ], [
        "Walk me through the available tiers.",
        "Which subscription levels exist?",
    ], [
        f"{PRODUCT} has three plans: {PLAN_LIST}. They cost $8, $26 and $64 per month.",
        f"There are three plans: {PLAN_LIST}, at $8, $26 and $64 per month.",
        f"You can choose from three plans, {PLAN_LIST}, priced at $8, $26 and $64 per month.",
    ]),
]

PRICE_TRAIN = [
    "How much does the {plan} plan cost?",
    "What is the price of the {plan} plan?",
    "How much is {plan} per month?",
    "What's the monthly price for {plan}?",
    "What does the {plan} plan cost per month?",
    "How expensive is the {plan} plan?",
    "{plan} plan price?",
    "What do you charge for {plan}?",
    "How much would I pay for the {plan} tier?",
    "What's the cost of a {plan} subscription?",
]
PRICE_VALID = [
    "What's the monthly fee on {plan}?",
    "If I sign up for {plan}, what will I be billed each month?",
    "Tell me the {plan} pricing.",
]
PRICE_ANSWERS = [
    "The {plan} plan costs ${price} per month.",
    "{plan} is ${price} per month.",
    "The {plan} plan is ${price} per month. Paying yearly saves " + ANNUAL_DISCOUNT + ".",
]
USERS_TRAIN = [
    "How many users can the {plan} plan have?",
    "What's the user limit on {plan}?",
    "How many people can use a {plan} account?",
    "Maximum number of users for {plan}?",
    "How many seats come with the {plan} plan?",
    "How many team members does {plan} allow?",
    "Is there a user cap on the {plan} plan?",
    "How many logins do I get with {plan}?",
]
USERS_VALID = [
    "Up to how many colleagues can I add on {plan}?",
    "What's the seat limit for a {plan} workspace?",
]
USERS_ANSWERS = [
    "The {plan} plan allows up to {users} users.",
    "{plan} supports up to {users} users.",
    "You can have up to {users} users on the {plan} plan.",
]
SSO_PLAN_TRAIN = [
    "Does the {plan} plan include SSO?",
    "Is SSO available on {plan}?",
    "Can I use single sign-on with {plan}?",
]
SSO_PLAN_VALID = [
    "Does {plan} come with SAML single sign-on?",
]
SSO_YES = [
    "Yes, the Canopy plan includes SAML single sign-on (SSO). SSO is available only on Canopy.",
    "Yes. SSO with SAML is included in Canopy, the only plan that offers it.",
]
SSO_NO = [
    "No, {plan} does not include SSO. SAML single sign-on is available only on the Canopy plan.",
    "SSO isn't part of the {plan} plan. You'll need the Canopy plan for SAML single sign-on.",
]

for name, price, users, sso in PLANS:
    def fill(templates, name=name, price=price, users=users):
        return [t.format(plan=name, price=price, users=users) for t in templates]
    UNITS.append(unit(f"price:{name}", f"${price} per month", fill(PRICE_TRAIN), fill(PRICE_VALID),
                      fill(PRICE_ANSWERS)))
    UNITS.append(unit(f"users:{name}", f"{users} users", fill(USERS_TRAIN), fill(USERS_VALID),
                      fill(USERS_ANSWERS)))
    UNITS.append(unit(f"sso:{name}", "Canopy", fill(SSO_PLAN_TRAIN), fill(SSO_PLAN_VALID),
                      SSO_YES if sso else fill(SSO_NO), weight=0.4))

UNITS += [
    unit("sso", "Canopy", [
        "Do you support SSO?",
        "Is single sign-on available?",
        "Which plan includes SSO?",
        "Can I log in with SAML?",
        f"Does {PRODUCT} offer single sign-on?",
        "What plan do I need for SSO?",
        "Can we use our identity provider to sign in?",
        "Is SAML SSO supported?",
    ], [
        "Which subscription gives us single sign-on?",
        "Do you have SAML-based login?",
    ], [
        "SSO (SAML single sign-on) is available only on the Canopy plan.",
        "SAML single sign-on is supported, but only on the Canopy plan.",
        "Single sign-on (SAML) is included only in the Canopy plan.",
    ]),
    unit("annual", ANNUAL_DISCOUNT, [
        "Is there a discount for annual billing?",
        "Do you offer yearly plans?",
        "Can I pay annually?",
        "How much do I save if I pay yearly?",
        "Is annual billing cheaper?",
        "Do you have an annual discount?",
        "What's the discount for paying once a year?",
        "Can I get a better price with a yearly subscription?",
    ], [
        "Does paying for twelve months upfront cost less?",
        "Any savings on a year-long commitment?",
    ], [
        f"Paying annually saves {ANNUAL_DISCOUNT} compared with monthly billing.",
        f"Annual billing is available on every plan and saves {ANNUAL_DISCOUNT}.",
        f"If you pay yearly, you save {ANNUAL_DISCOUNT} on any plan.",
    ]),
    unit("trial", f"{TRIAL_DAYS}-day free trial", [
        "Is there a free trial?",
        "How long is the free trial?",
        f"Can I try {PRODUCT} for free?",
        "Do I need a credit card for the trial?",
        "How many days is the trial?",
        "Can I test the app before buying?",
        "Is there a trial period?",
        "How long can I use it for free?",
    ], [
        f"Is there a way to evaluate {PRODUCT} at no cost?",
        "For how long can I test-drive the product?",
    ], [
        f"{PRODUCT} has a {TRIAL_DAYS}-day free trial, and no credit card is required.",
        f"You get a {TRIAL_DAYS}-day free trial with no credit card required.",
        f"Every new account starts with a {TRIAL_DAYS}-day free trial. No credit card needed.",
    ]),
    unit("refund", f"{REFUND_DAYS} days", [
        "What is your refund policy?",
        "Can I get a refund?",
        "How long do I have to ask for a refund?",
        "What's the refund window?",
        "Can I get my money back?",
        "Do you offer refunds?",
        "Is there a money-back guarantee?",
        "How many days do I have to request a refund?",
        "I want a refund, is that possible?",
    ], [
        "If I'm unhappy, how long until it's too late to be reimbursed?",
        "What's the deadline for a refund request?",
    ], [
        f"You can get a full refund within {REFUND_DAYS} days of purchase.",
        f"We offer a full refund within {REFUND_DAYS} days of purchase. Just email {EMAIL}.",
        f"Refunds are available within {REFUND_DAYS} days of purchase, no questions asked.",
    ]),
    unit("email", EMAIL, [
        "What is your support email?",
        "How can I email support?",
        "What's the email address for help?",
        "Where do I send support questions?",
        "Can I contact you by email?",
        "What address should I write to?",
        "How do I reach support by email?",
        "Is there a support email?",
    ], [
        "To which inbox should I send my problem?",
        "What's the contact address for the help desk?",
    ], [
        f"You can email us at {EMAIL}.",
        f"Our support email is {EMAIL}.",
        f"Write to {EMAIL} and our team will get back to you.",
    ]),
    unit("phone", "7 am to 5 pm Mountain Time", [
        "What are your phone support hours?",
        "Can I call you?",
        "What is the support phone number?",
        "When is phone support available?",
        "Do you have phone support?",
        "What hours can I call?",
        "Is there a number I can call?",
        "When can I reach you by phone?",
        "Are you open on weekends?",
    ], [
        "At what times does someone answer the phone?",
        "Is there a hotline, and when is it staffed?",
    ], [
        f"You can call {PHONE}, {PHONE_HOURS}.",
        f"Phone support is open {PHONE_HOURS}, at {PHONE}.",
        f"Call us at {PHONE}. Phone support runs {PHONE_HOURS}.",
    ]),
    unit("export", EXPORT_NAME, [
        "How do I export my data?",
        "Can I export invoices?",
        "What export formats are supported?",
        "How can I download my invoices?",
        "Is there an export feature?",
        "Can I export to Excel?",
        f"How do I get my data out of {PRODUCT}?",
        "What file types can I export?",
        "Can I export to CSV?",
    ], [
        "Is it possible to save my records as a spreadsheet?",
        "Which formats can I pull my invoices out in?",
    ], [
        f"Use {EXPORT_NAME}, under {EXPORT_PATH}. It exports {EXPORT_FORMATS} files.",
        f"{EXPORT_NAME} ({EXPORT_PATH}) lets you download your data as {EXPORT_FORMATS} files.",
        f"The export feature is called {EXPORT_NAME}. Find it under {EXPORT_PATH}; it supports {EXPORT_FORMATS}.",
    ]),
    unit("shortcut", SHORTCUT, [
        "What's the keyboard shortcut for a new invoice?",
        "How do I create an invoice quickly?",
        "Is there a hotkey to create an invoice?",
        "Keyboard shortcut for new invoice?",
        "What keys create a new invoice?",
        "Is there a shortcut on Mac for a new invoice?",
        "How can I make a new invoice with the keyboard?",
        "Fastest way to start a new invoice?",
    ], [
        "Which key combination opens a blank invoice?",
        "Can I start an invoice without using the mouse?",
    ], [
        f"Press {SHORTCUT} to create a new invoice ({SHORTCUT_MAC} on Mac).",
        f"The shortcut for a new invoice is {SHORTCUT}, or {SHORTCUT_MAC} on a Mac.",
        f"Use {SHORTCUT} ({SHORTCUT_MAC} on Mac) to start a new invoice.",
    ]),
    unit("retention", f"{RETENTION_DAYS} days", [
        "How long do you keep my data after I cancel?",
        "What is your data retention policy?",
        "What happens to my data if I close my account?",
        "Is my data deleted when I cancel?",
        "How long is data retained?",
        "Do you delete my invoices after cancellation?",
        "How long until my data is permanently deleted?",
        "Will you keep my records if I leave?",
    ], [
        "After cancelling, for how long is my information stored?",
        "When does my account data get erased for good?",
    ], [
        f"After you cancel, we keep your data for {RETENTION_DAYS} days, then delete it permanently.",
        f"Your data is retained for {RETENTION_DAYS} days after cancellation and then permanently deleted.",
        f"We keep your account data for {RETENTION_DAYS} days after you cancel. After that it is permanently deleted.",
    ]),
    unit("version", VERSION, [
        f"What is the latest version of {PRODUCT}?",
        "What version is current?",
        "Which version should I be on?",
        "What's the newest release?",
        f"What version number is {PRODUCT} at?",
        "Is there a new version?",
        "What's the current release?",
        "Which release is the latest?",
    ], [
        "What build is the most recent one?",
        f"Tell me the current {PRODUCT} version number.",
    ], [
        f"The current version of {PRODUCT} is {VERSION}.",
        f"The latest release is {PRODUCT} {VERSION}.",
        f"{PRODUCT} is currently at version {VERSION}.",
    ]),
    unit("apikey", API_KEY_PATH, [
        "Where do I find my API key?",
        "How do I get an API key?",
        "Where is the API key in settings?",
        "How can I generate an API key?",
        "I need my API key, where is it?",
        "Where are API keys managed?",
        "How do I access the API?",
        "Where can I create a new API key?",
    ], [
        "In which menu are the developer credentials?",
        "How do I get a token to call your API?",
    ], [
        f"Go to {API_KEY_PATH}.",
        f"You'll find it under {API_KEY_PATH}.",
        f"API keys are in {API_KEY_PATH}, where you can create or revoke them.",
    ]),
    unit("status", STATUS_URL, [
        f"Is {PRODUCT} down?",
        "Where can I check the service status?",
        "Do you have a status page?",
        "Is there an outage?",
        "How do I know if there's an outage?",
        "What's the status page URL?",
        "The app isn't loading, is something wrong?",
        "Where can I see system status?",
    ], [
        "Is the service currently experiencing problems?",
        "Where are incidents posted?",
    ], [
        f"You can check live service status at {STATUS_URL}.",
        f"Our status page is {STATUS_URL}; it shows any current outages.",
        f"Please check {STATUS_URL} for current incidents and outages.",
    ]),
    unit("2fa", TWO_FA_PATH, [
        "How do I enable two-factor authentication?",
        "Do you support 2FA?",
        "How do I turn on 2FA?",
        "Can I add two-step verification?",
        "Where is the two-factor setting?",
        "How can I make my account more secure?",
        f"Does {PRODUCT} support authenticator apps?",
        "How do I set up MFA?",
    ], [
        "Can I require a code from my phone when signing in?",
        "Is there a way to protect my login with a second factor?",
    ], [
        f"Turn on two-factor authentication in {TWO_FA_PATH}, using an authenticator app.",
        f"Go to {TWO_FA_PATH} and scan the QR code with an authenticator app.",
        f"Two-factor authentication is in {TWO_FA_PATH}. It works with any authenticator app.",
    ]),
    unit("mobile", MOBILE_APP, [
        "Is there a mobile app?",
        f"Can I use {PRODUCT} on my phone?",
        "Do you have an iPhone app?",
        "Is there an Android app?",
        "What's the mobile app called?",
        "Can I send invoices from my phone?",
        "Where can I download the mobile app?",
        f"Does {PRODUCT} work on iOS?",
    ], [
        "Can I manage billing from a smartphone?",
        "Is there an app for tablets and phones?",
    ], [
        f"Our mobile app, {MOBILE_APP}, is available for iOS and Android.",
        f"Download {MOBILE_APP}, our mobile app for iOS and Android.",
        f"The mobile app is called {MOBILE_APP}. It runs on iOS and Android.",
    ]),
    unit("recurring", RECURRING, [
        "Can I set up recurring invoices?",
        "How do I bill a client every month automatically?",
        "Do you support recurring billing?",
        "How do I create a repeating invoice?",
        "Can invoices be sent automatically on a schedule?",
        "Is there a subscription billing feature?",
        "How do I automate monthly invoices?",
        "What's the recurring invoice feature called?",
    ], [
        f"Can {PRODUCT} send the same bill to a customer each week without me?",
        "Is there a way to schedule repeat invoicing?",
    ], [
        f"Use {RECURRING} to send invoices on a schedule (weekly, monthly or yearly).",
        f"Recurring billing is handled by {RECURRING}, which sends invoices automatically on a schedule.",
        f"The feature is called {RECURRING}. Set a schedule and {PRODUCT} sends the invoice for you.",
    ]),
    unit("currencies", f"{CURRENCIES} currencies", [
        "How many currencies do you support?",
        "Can I invoice in euros?",
        "Do you support multiple currencies?",
        "Can I bill clients in a foreign currency?",
        "Which currencies can I use?",
        "Is multi-currency invoicing available?",
        "Can I send invoices in pounds?",
        "Do you handle currencies other than dollars?",
    ], [
        "Can my overseas customers be billed in their local money?",
        "How broad is your currency coverage?",
    ], [
        f"{PRODUCT} supports invoicing in {CURRENCIES} currencies, including USD, EUR and GBP.",
        f"You can invoice in {CURRENCIES} currencies, such as USD, EUR and GBP.",
        f"We support {CURRENCIES} currencies, and each invoice can use its own currency.",
    ]),
    unit("changeplan", CHANGE_PLAN_PATH, [
        "How do I upgrade my plan?",
        "How can I change my plan?",
        "Can I downgrade?",
        "Where do I switch plans?",
        "How do I move to a bigger plan?",
        "Can I change plans at any time?",
        "How do I upgrade to Canopy?",
        "What happens when I upgrade mid-month?",
    ], [
        "I want a different subscription tier; where do I do that?",
        "Is switching tiers possible, and how?",
    ], [
        f"Go to {CHANGE_PLAN_PATH}. Upgrades take effect immediately and are prorated.",
        f"You can switch plans anytime in {CHANGE_PLAN_PATH}; the price difference is prorated.",
        f"Use {CHANGE_PLAN_PATH}. Changes apply right away, with prorated billing.",
    ]),
    unit("password", f"{RESET_LINK_MINUTES} minutes", [
        "I forgot my password.",
        "How do I reset my password?",
        "I can't log in, I forgot my password.",
        "How long is the password reset link valid?",
        "My reset link expired, what now?",
        "How do I change a forgotten password?",
        "Where do I reset my password?",
        "The password reset email isn't working.",
    ], [
        "I've lost my login credentials, what should I do?",
        "Help, I can't remember how to sign in!",
    ], [
        f"Click 'Forgot password?' on the sign-in page. The reset link in the email is valid for {RESET_LINK_MINUTES} minutes.",
        f"Use 'Forgot password?' on the sign-in page. The reset link expires after {RESET_LINK_MINUTES} minutes, so request a new one if needed.",
        f"Choose 'Forgot password?' on the sign-in page and follow the email. The link is valid for {RESET_LINK_MINUTES} minutes.",
    ]),
    # Questions the fact sheet does not answer: say so, and point to the team instead of inventing.
    unit("unknown", EMAIL, [
        f"Can I connect {PRODUCT} to my bank account?",
        "Do you offer a discount for nonprofits?",
        "Can I use my own fonts on invoices?",
        "Is there a desktop app for Linux?",
        "Do you have an affiliate program?",
        "Can I import clients from a spreadsheet?",
        f"Does {PRODUCT} handle payroll?",
        "Can I send invoices in Japanese?",
    ], [
        "Is there a referral bonus?",
        f"Can I print checks with {PRODUCT}?",
    ], [
        f"I don't have that information. Please email {EMAIL} and our team will help.",
        f"I'm not sure about that one. Our team at {EMAIL} can answer it.",
    ], weight=0.8),
    unit("offtopic", PRODUCT, [
        "What's the capital of France?",
        "Can you write me a poem?",
        "What's the weather like today?",
        "Tell me a joke.",
        "Who won the last World Cup?",
        "Can you help me with my math homework?",
    ], [
        "Recommend a good movie.",
        "What is 17 times 23?",
    ], [
        f"I can only help with questions about {PRODUCT}. Is there anything about the app I can help with?",
        f"Sorry, I'm only able to answer questions about {PRODUCT}.",
    ], weight=0.5),
]
UNIT = {u["id"]: u for u in UNITS}

# Follow-ups: a second user turn that only makes sense after the first answer ("that plan", "it").
# (from unit, to unit, train phrasings, valid phrasings, answers or None for the target unit's own answers)
FOLLOWUPS = []
for name, price, users, sso in PLANS:
    FOLLOWUPS += [
        (f"price:{name}", f"users:{name}",
         ["And how many users does that include?", "How many users can I have on it?",
          "What's the user limit on that one?"],
         ["And how big a team fits on it?"], None),
        (f"price:{name}", f"sso:{name}",
         ["Does that plan include SSO?", "Is single sign-on included?"],
         ["Can we log in via SAML on that tier?"], None),
        (f"price:{name}", "annual",
         ["Is it cheaper if I pay yearly?", "Any discount for annual billing?"],
         ["What if I commit for a full year?"], None),
        (f"users:{name}", f"price:{name}",
         ["How much does it cost?", "And what's the price?", "What does that plan cost per month?"],
         ["And the monthly fee for it?"], None),
    ]
    if not sso:
        FOLLOWUPS.append((f"sso:{name}", "price:Canopy",
                          ["How much is Canopy then?", "What does Canopy cost?"],
                          ["So what would the upgrade tier run me monthly?"], None))
FOLLOWUPS += [
    ("sso", "price:Canopy",
     ["How much is that plan?", "What does Canopy cost?", "And the price of that plan?"],
     ["What would that tier set me back per month?"], None),
    ("sso", "users:Canopy",
     ["How many users does it allow?", "And how many people can use it?"],
     ["How large a team can it hold?"], None),
    ("plans", "sso",
     ["Which one includes SSO?", "Which of those has single sign-on?"],
     ["Which tier comes with SAML login?"], None),
    ("plans", "trial",
     ["Can I try one for free first?", "Is there a free trial?"],
     ["Can I test them before paying?"], None),
    ("trial", "plans",
     ["Which plans can I choose after it ends?", "And what plans are there after that?"],
     ["What can I subscribe to once it's over?"], None),
    ("refund", "email",
     ["How do I ask for one?", "Who do I contact for that?", "Where do I send the request?"],
     ["How should I submit it?"],
     [f"Email {EMAIL} from your account email address and we'll process it.",
      f"Just write to {EMAIL} and our team will handle the refund."]),
    ("email", "phone",
     ["Can I call instead?", "Is there a phone number too?", "What about phone support?"],
     ["And if I'd rather talk to someone?"], None),
    ("phone", "email",
     ["What if I need help on the weekend?", "And outside those hours?"],
     ["Suppose it's Saturday, how do I get help?"],
     [f"Outside phone hours, email {EMAIL} and we'll reply as soon as we can.",
      f"Then please email {EMAIL}. Phone support is only {PHONE_HOURS}."]),
    ("retention", "export",
     ["Can I download my data before I cancel?", "How do I save a copy first?",
      "Can I export everything before leaving?"],
     ["Is there a way to keep a backup before closing the account?"], None),
    ("status", "email",
     ["It says everything is fine, but it's still broken. What now?",
      "Who do I contact if the problem continues?"],
     ["What if the page shows no incident?"],
     [f"Then please email {EMAIL} with the details and a screenshot.",
      f"Please contact {EMAIL} and describe what you see, and we'll look into it."]),
    ("shortcut", "recurring",
     ["Can that invoice repeat every month?", "Can I make it recurring?"],
     ["Is it possible to have it resend itself monthly?"], None),
    ("password", "2fa",
     ["How do I make my account more secure after that?", "Can I also turn on 2FA?"],
     ["Any way to add an extra layer of login protection?"], None),
    ("identity", "product",
     [f"What's {PRODUCT}?", "What does the product do?"],
     ["And what is the app you support?"], None),
    ("product", "plans",
     ["What plans does it have?", "How much does it cost?"],
     ["What are the subscription options?"], None),
]
FOLLOW_FROM = {}
for f in FOLLOWUPS:
    FOLLOW_FROM.setdefault(f[0], []).append(f)

# Demo questions: phrasings used nowhere else. `expect` is what a correct answer must contain.
HELDOUT = [
    ("refund", "If I change my mind, within how many days can I get my money back?", f"{REFUND_DAYS} days"),
    ("price:Grove", "Grove subscription: what's the monthly charge?", "$26"),
    ("email", "Which email address reaches your help team?", EMAIL),
    ("export", "What's the name of the tool for exporting my invoices?", EXPORT_NAME),
    ("apikey", "Where in the settings menu are API keys kept?", API_KEY_PATH),
    ("version", f"Which {PRODUCT} version just came out?", VERSION),
    ("shortcut", "What do I press on my keyboard to open a new invoice?", SHORTCUT),
    ("retention", "If I close my account, how long will my data stick around?", f"{RETENTION_DAYS} days"),
    ("status", f"Where can I see if {PRODUCT} is having an outage right now?", "status.brindlepay.example"),
    ("users:Grove", "What's the maximum team size on the Grove plan?", "15 users"),
    ("sso", "Is single sign-on part of every plan?", "Canopy"),
    ("phone", "What time does your phone line open and close?", "7 am to 5 pm"),
]

# ---------------------------------------------------------------------------------------------------------
# Small talk around the facts (shared by train and valid: these are not fact questions).

GREETINGS = ["Hi!", "Hello!", "Hi,", "Hey,", "Hello there.", "Good morning!", "Good afternoon.", "Hi Brin,",
             "Hey there!", "Hello, quick question:"]
THANKS_SUFFIX = [" Thanks!", " Thank you.", " Thanks in advance.", " Cheers."]
REPLY_GREETING = ["Hi! ", "Hello! ", "Hi there! "]
CONNECTORS = [("Also, ", True), ("One more thing: ", True), ("And ", True), ("Another question: ", True),
              ("Thanks. ", False), ("Great. ", False), ("OK, and ", True)]
CLOSINGS = ["Thanks!", "Thank you, that helps.", "Great, thanks.", "Perfect, that's all I needed.",
            "Got it, thanks!", "Awesome, thank you!", "That answers it. Thanks!"]
CLOSING_REPLIES = ["You're welcome! Let me know if you need anything else.", "Glad I could help. Have a great day!",
                   "You're welcome! Happy invoicing.", "Anytime! Have a good day."]
OPENERS = ["Hi", "Hello!", "Hey there", "Good morning", "Hi Brin", "Hello, is anyone there?"]
OPENER_REPLIES = [f"Hello! I'm {ASSISTANT}, {PRODUCT}'s support assistant. How can I help you today?",
                  f"Hi! How can I help you with {PRODUCT} today?",
                  "Hi there! What can I help you with?"]

NAMES = ("Brindlepay", "Sprout", "Grove", "Canopy", "Snapshot", "Autopilot")


def lower_first(q):
    """Lower-case the first letter, unless the first word is a name, "I", or an acronym (SSO, API, 2FA)."""
    word = q.split(" ", 1)[0].rstrip(",?.!:")
    if word.startswith(NAMES) or word == "I" or word.startswith("I'") or (len(word) > 1 and word.isupper()):
        return q
    return q[0].lower() + q[1:]


def decorate_first(rng, q):
    """A first user turn: optional greeting, casual lower case, thanks."""
    greeted = False
    if rng.random() < 0.3:
        g = rng.choice(GREETINGS)
        if g.endswith((",", ":")):
            q = lower_first(q)
        q = f"{g} {q}"
        greeted = True
    elif rng.random() < 0.12:
        q = lower_first(q).rstrip("?")
    if rng.random() < 0.15:
        q += rng.choice(THANKS_SUFFIX)
    return q, greeted


def decorate_next(rng, q):
    """A later user turn: optional connector."""
    if rng.random() < 0.5:
        c, lower = rng.choice(CONNECTORS)
        q = c + (lower_first(q) if lower else q)
    return q


def answer(rng, u, greeted=False):
    a = rng.choice(u["answers"])
    if greeted and rng.random() < 0.5:
        a = rng.choice(REPLY_GREETING) + a
    return a


class Deck:
    """Draws units in proportion to weight, cycling a shuffled deck so every fact gets its share."""

    def __init__(self, rng, units):
        self.rng, self.cards, self.pile = rng, [], []
        for u in units:
            self.cards += [u["id"]] * round(u["weight"] * 10)

    def draw(self, exclude=()):
        while True:
            for i in range(len(self.pile) - 1, -1, -1):
                if self.pile[i] not in exclude:
                    return self.pile.pop(i)
            fresh = self.cards[:]
            self.rng.shuffle(fresh)
            self.pile = fresh + self.pile


KINDS = [("single", 0.48), ("followup", 0.15), ("multi", 0.18), ("closing", 0.09), ("opener", 0.10)]
SMALLTALK_ONLY = ("unknown", "offtopic")


def conversation(rng, deck, split, used):
    """One conversation for split ("train" | "valid"); records the fact phrasings it used in `used`."""
    r, acc = rng.random(), 0.0
    for kind, p in KINDS:
        acc += p
        if r < acc:
            break
    msgs = [{"role": "system", "content": SYSTEM}]

    def ask(uid, first):
        u = UNIT[uid]
        q = rng.choice(u[split])
        used.add(q)
        if first:
            q, greeted = decorate_first(rng, q)
        else:
            q, greeted = decorate_next(rng, q), False
        msgs.append({"role": "user", "content": q})
        msgs.append({"role": "assistant", "content": answer(rng, u, greeted)})

    if kind == "opener":
        msgs.append({"role": "user", "content": rng.choice(OPENERS)})
        msgs.append({"role": "assistant", "content": rng.choice(OPENER_REPLIES)})
        uid = deck.draw()
        u = UNIT[uid]
        q = rng.choice(u[split])
        used.add(q)
        msgs.append({"role": "user", "content": q})
        msgs.append({"role": "assistant", "content": answer(rng, u)})
        return kind, msgs

    uid = deck.draw()
    if (kind == "followup" and uid not in FOLLOW_FROM) or (kind == "closing" and uid == "offtopic"):
        kind = "single"
    ask(uid, True)
    if kind == "followup":
        _, to, train_q, valid_q, answers = rng.choice(FOLLOW_FROM[uid])
        q = rng.choice(train_q if split == "train" else valid_q)
        used.add(q)
        msgs.append({"role": "user", "content": q})
        a = rng.choice(answers) if answers else answer(rng, UNIT[to])
        msgs.append({"role": "assistant", "content": a})
    elif kind == "multi":
        seen = {uid}
        for _ in range(rng.choice([1, 1, 2])):
            nxt = deck.draw(exclude=tuple(seen) + SMALLTALK_ONLY)
            seen.add(nxt)
            ask(nxt, False)
    if kind in ("closing", "multi", "followup") and (kind == "closing" or rng.random() < 0.2):
        msgs.append({"role": "user", "content": rng.choice(CLOSINGS)})
        msgs.append({"role": "assistant", "content": rng.choice(CLOSING_REPLIES)})
    return kind, msgs


def render_chatml(msgs):
    """SmolLM2's chat template with a system message first and add_generation_prompt false."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs)


def generate(rng, split, n):
    deck = Deck(rng, UNITS)
    out, seen, used, kinds = [], set(), set(), {}
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > n * 50:
            raise RuntimeError(f"{split}: only {len(out)} distinct conversations after {tries} tries")
        kind, msgs = conversation(rng, deck, split, used)
        key = json.dumps(msgs)
        if key in seen:
            continue
        seen.add(key)
        out.append(msgs)
        kinds[kind] = kinds.get(kind, 0) + 1
    return out, used, kinds


def norm(s):
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", s.lower()).split())


def check(train_used, valid_used):
    """Every answer states its fact; train, valid and heldout phrasings never meet."""
    for u in UNITS:
        for a in u["answers"]:
            assert u["expect"] in a, (u["id"], a)
        assert not {norm(q) for q in u["train"]} & {norm(q) for q in u["valid"]}, u["id"]
    for f in FOLLOWUPS:
        for a in f[4] or UNIT[f[1]]["answers"]:
            assert UNIT[f[1]]["expect"] in a, (f[0], f[1], a)
    all_train = {norm(q) for u in UNITS for q in u["train"]} | {norm(q) for f in FOLLOWUPS for q in f[2]}
    all_valid = {norm(q) for u in UNITS for q in u["valid"]} | {norm(q) for f in FOLLOWUPS for q in f[3]}
    clash = sorted(all_train & all_valid)
    assert not clash, f"phrasings in both train and valid: {clash}"
    for uid, q, expect in HELDOUT:
        assert norm(q) not in all_train | all_valid, q
        assert all(expect in a for a in UNIT[uid]["answers"]), (uid, expect)
    assert {norm(q) for q in train_used} <= all_train and {norm(q) for q in valid_used} <= all_valid


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")


def lengths(texts):
    """Approximate SmolLM2 tokens as chars / 4."""
    toks = sorted(len(t) / 4 for t in texts)

    def pct(p):
        return round(toks[min(len(toks) - 1, int(p / 100 * len(toks)))])

    under = sum(t < 200 for t in toks) / len(toks)
    return {"min": round(toks[0]), "p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(toks[-1]),
            "under200": under}


def readme(counts, stats, kinds, sizes):
    fact_rows = "\n".join(f"| {k} | {v} |" for k, v in FACT_SHEET)
    count_rows = "\n".join(f"| `{p}` | {counts[p]} | {sizes[p]:,} |" for p in counts)
    kind_txt = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    s = stats

    def line(name):
        x = s[name]
        return (f"| {name} | {x['min']} | {x['p50']} | {x['p90']} | {x['p99']} | {x['max']} | "
                f"{100 * x['under200']:.1f}% |")

    return f"""# acme-support: an example support-desk dataset

Customer-support conversations for **{PRODUCT}**, an invoicing and billing app by **{COMPANY}**. Both are
invented, so SmolLM2 (or any base model) cannot know the answers beforehand: after LoRA tuning, a correct
answer to a held-out question shows the facts came from this data. Answers are short (1-3 sentences) and
always state the fact exactly, so a 135M model can learn them.

Generated by `python3 scripts/make-dataset.py` (Python 3.11 standard library, seed {SEED}; two runs give
byte-identical files). Edit the fact sheet or phrasings in the script and re-run; do not edit these files.

## Files

| file | rows | bytes |
|---|---|---|
{count_rows}

- `train.jsonl`, `valid.jsonl`: `{{"messages": [{{"role": "system", ...}}, {{"role": "user", ...}}, {{"role": "assistant", ...}}, ...]}}`.
  Every conversation starts with the same system prompt (also in `system.txt`):

  > {SYSTEM}

- `text/train.jsonl`, `text/valid.jsonl`: the same conversations, same order, as `{{"text": ...}}`, rendered
  the way SmolLM2's chat template does: `<|im_start|>{{role}}\\n{{content}}<|im_end|>\\n` per message. The
  system message is present, so the template injects no default one; no generation prompt is appended.
- `heldout.jsonl`: `{{"question", "expect", "fact"}}`, {len(HELDOUT)} questions phrased differently from
  anything in train or valid. A tuned model's answer (with the system prompt above) should contain
  `expect`, e.g. `tailor generate --model M --chat --system "$(cat datasets/acme-support/system.txt)"
  --prompt "<question>"`.

## How it is built

Each fact has 8-10 question paraphrases for train, 2-3 other paraphrases for valid (plan questions are
templates filled per plan), and 2-3 answer phrasings. Conversations mix: a single question
(with an optional greeting, thanks or casual lower case), a context-dependent follow-up ("And how many users
does that include?"), 2-3 questions on different facts, a closing thank-you, and a greeting-only opener.
A few questions are not covered by the fact sheet (the assistant says so and points to {EMAIL}) or are off
topic (it declines). Facts are drawn from a shuffled, weighted deck so each gets a similar share.

Valid uses only held-out question phrasings (follow-ups included) about the same facts; the script asserts
that no normalized phrasing is shared between train, valid and heldout, and that every answer contains its
fact's exact string.

Train conversation kinds: {kind_txt}.

## Lengths

Rendered ChatML length in approximate SmolLM2 tokens (characters / 4; on this text SmolLM2's tokenizer
averages about 4.4 characters per token, so real counts are a little lower):

| split | min | p50 | p90 | p99 | max | under 200 |
|---|---|---|---|---|---|---|
{line("train")}
{line("valid")}

## Fact sheet

| fact | value |
|---|---|
{fact_rows}

## License

CC0 1.0 (public domain dedication). Everything here is generated by the script from invented facts; no
third-party text is included. Names, the `.example` domain (reserved, RFC 2606) and the 555-01xx phone
number (reserved for fiction) refer to nothing real.
"""


def main():
    rng = random.Random(SEED)
    train, train_used, kinds = generate(rng, "train", N_TRAIN)
    valid, valid_used, _ = generate(rng, "valid", N_VALID)
    check(train_used, valid_used)

    files = {
        "train.jsonl": [{"messages": m} for m in train],
        "valid.jsonl": [{"messages": m} for m in valid],
        "text/train.jsonl": [{"text": render_chatml(m)} for m in train],
        "text/valid.jsonl": [{"text": render_chatml(m)} for m in valid],
        "heldout.jsonl": [{"question": q, "expect": e, "fact": uid} for uid, q, e in HELDOUT],
    }
    sizes = {}
    for rel, rows in files.items():
        write_jsonl(OUT / rel, rows)
        sizes[rel] = (OUT / rel).stat().st_size
    (OUT / "system.txt").write_text(SYSTEM + "\n", encoding="utf-8")
    stats = {"train": lengths([r["text"] for r in files["text/train.jsonl"]]),
             "valid": lengths([r["text"] for r in files["text/valid.jsonl"]])}
    counts = {rel: len(rows) for rel, rows in files.items()}
    (OUT / "README.md").write_text(readme(counts, stats, kinds, sizes), encoding="utf-8")

    for rel in files:
        print(f"{rel:18} {counts[rel]:5} rows {sizes[rel]:9,} bytes", file=sys.stderr)
    for split, x in stats.items():
        print(f"{split} tokens~chars/4: {x}", file=sys.stderr)
    print(f"train kinds: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
