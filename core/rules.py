"""The billing rules in an operator's words, for the console's help page.

Code, tests and documents cite rules by number (R1 ... R35, docs of the project); the console
shows plain words and links each number it mentions to this page (core.middleware).
"""

RULES: dict[str, tuple[str, str]] = {
    "R1": ("Money is exact", "Amounts are exact decimals with their currency; two currencies "
           "are never added together."),
    "R2": ("A rated event to six places", "Each event's charge is worked out exactly, then "
           "rounded to six decimal places (half up) and kept so."),
    "R3": ("An invoice line rounds once", "An invoice line adds up the events' stored charges "
           "and rounds the sum once, to cents; events are never rounded one by one."),
    "R4": ("Tax per rate, per invoice", "Tax is worked out on the sum of the invoice's lines of "
           "each tax rate. For a plan priced with tax included, the tax is taken out of that "
           "sum, so the customer pays exactly the prices they saw."),
    "R5": ("Units", "Time in whole seconds, data in bytes (1 GB is 1,000,000,000 bytes), "
           "messages and events counted."),
    "R6": ("Time", "Every moment is stored in UTC; an account's own time zone decides its "
           "billing periods, time bands and days."),
    "R7": ("One event, one rate", "Each event is priced by exactly one row of the rate card, "
           "the most specific that fits. An event no row fits waits in the rating error queue; "
           "it is never charged zero silently."),
    "R7a": ("Zones", "The other party's number falls in the zone of its longest prefix; "
            "received calls and SMS are INCOMING; the visited network decides home or roaming."),
    "R8": ("Time band by start", "An event's time band (peak, off-peak) is that of its start "
           "in the account's time zone; an event is never split across bands."),
    "R9": ("Increments", "Calls are charged in the rate's steps (60/60 rounds 61 s up to "
           "120 s); data is rounded up to the rate's step; a connection fee is added once."),
    "R10": ("Zero-length events", "A call of 0 s or a session of 0 bytes is kept and costs "
            "nothing."),
    "R11": ("Allowances first", "Included minutes, SMS and data are used before anything is "
            "charged, the allowance ending first used first, and only for the services and "
            "zones it names."),
    "R11b": ("In the order of the events", "Allowances are drawn in the order events happened "
             "within a file; a record arriving late does not change earlier events."),
    "R12": ("Steps once, then allowances", "The rate's steps apply once to the whole event; an "
            "allowance covers what it can, and the rest is charged pro rata."),
    "R13": ("Fair use", "Past a plan's fair-use cap, usage is charged at the overage price or "
            "slowed down (and the customer told once per period)."),
    "R14": ("Retail and wholesale", "Every event is priced twice: what the customer pays and "
            "what the host network charges us; the margin is the difference."),
    "R15": ("Rerating", "After a tariff correction, events can be priced again; an issued "
            "invoice never changes, the difference goes on the next bill or a credit note."),
    "R16": ("Nothing is lost", "For every usage file, records read = accepted + rejected + "
            "duplicates. A rejected record is kept with its reason and can be corrected and "
            "processed again, never charged twice."),
    "R17": ("Duplicates", "A record whose id the same network already sent is a duplicate; a "
            "file whose exact bytes came before is refused whole."),
    "R18": ("File integrity", "A file whose closing line does not count its records is held "
            "whole (quarantined), never half loaded."),
    "R19": ("Unknown subscribers", "A record whose number or SIM belongs to no subscription, or "
            "to one not active at the time, is kept aside for correction."),
    "R20": ("Reserve, commit, release", "Online charging reserves before the service is used, "
            "charges what was used and releases the rest; a repeated request changes nothing."),
    "R21": ("No overdraft", "What is reserved is not available to another session; a balance "
            "never goes below zero or below the account's credit limit."),
    "R22": ("Reservations expire", "A reservation neither used nor released within its time is "
            "released automatically."),
    "R23": ("Same price online and offline", "An event charged in real time and the same event "
            "from a usage file cost exactly the same: there is one rating engine."),
    "R24": ("Monthly fees by the day", "A plan's fee is charged per period, in advance or after; "
            "a partial period pays its days (the first day counted, the last not)."),
    "R25": ("Changing plan mid-period", "A plan change takes effect at midnight: the old plan's "
            "unused days are credited and the new plan's remaining days charged."),
    "R26": ("Bill runs are safe to repeat", "Running a period's bill run again never makes a "
            "second invoice; one that stopped halfway finishes the rest."),
    "R27": ("Invoice numbers without gaps", "Invoices are numbered when issued, in series, "
            "without gaps; a voided invoice keeps its number."),
    "R28": ("Issued is final", "An issued invoice never changes; corrections are credit notes."),
    "R29": ("Prepaid", "Prepaid accounts get receipts and statements, not payable invoices."),
    "R30": ("Dunning", "An unpaid invoice moves through reminders, barring and termination on "
            "its account's schedule, and each step is undone when it is paid."),
    "R31": ("Wholesale cost", "What the host network is owed: the events' wholesale prices plus "
            "its fees per active SIM, checked line by line against its own invoice."),
    "R32": ("Revenue share", "Partners' shares are worked out from invoiced revenue, not from "
            "rated usage."),
    "R33": ("The usage chain balances", "Every record received is accounted for from file to "
            "invoice; any gap is a finding with the records behind it."),
    "R34": ("Invoice lines", "One usage line per subscription and kind of usage and zone; "
            "every event, even free ones, is listed in the itemised part."),
    "R35": ("Promotions", "A discount is a line of its own under the fee it discounts."),
}  # fmt: skip
