"""Points an independent client, simple-salesforce (REST and, through zeep, the
Metadata SOAP API), at a running simulated org. Not part of CI (needs pip).

    pip install simple-salesforce
    cargo run -p runner-sim --example serve -- storeconnect 18443 SIMTOKEN &
    python3 sim/examples/simple_salesforce_smoke.py 18443 SIMTOKEN
"""

import sys

import requests
from simple_salesforce import Salesforce, SalesforceError

PORT, TOKEN = sys.argv[1], sys.argv[2]
PROFILE = "Minimum Access - API Only Integrations"


class LoopbackHttp(requests.Session):
    """simple-salesforce always builds https:// URLs; the sim serves http on loopback."""

    def send(self, request, **kwargs):
        request.url = request.url.replace("https://127.0.0.1", "http://127.0.0.1")
        return super().send(request, **kwargs)


sf = Salesforce(instance_url=f"http://127.0.0.1:{PORT}", session_id=TOKEN, version="62.0", session=LoopbackHttp())
sf.metadata_url = sf.metadata_url.replace("https://", "http://")

assert sf.query("SELECT Id, Username, Profile.Name FROM User")["totalSize"] == 2
assert sf.query_all("SELECT Id, Name FROM RecordType")["totalSize"] == 6
created = sf.Account.create({"Name": "From simple-salesforce"})
assert created["success"] is True and created["id"].startswith("001")
assert sf.Account.get(created["id"])["Name"] == "From simple-salesforce"
assert sf.Account.update(created["id"], {"Name": "Updated"}) == 204
assert any(f["name"] == "RecordTypeId" for f in sf.Account.describe()["fields"])
assert any(o["name"] == "TwoFactorInfo" for o in sf.describe()["sobjects"])
user_id = sf.query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
try:
    sf.User.delete(user_id)
    raise AssertionError("a user was deleted")
except SalesforceError as err:
    assert err.status == 405, err.content
try:
    sf.Contact.create({"FirstName": "x"})
    raise AssertionError("a contact without LastName was created")
except SalesforceError as err:
    assert err.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING", err.content
assert sf.Account.delete(created["id"]) == 204
saved = sf.restful("composite/sobjects", method="POST", json={"records": [{"attributes": {"type": "Account"}, "Name": "x"}]})
assert saved[0]["success"] is True
assert sf.limits()["DailyApiRequests"]["Max"] == 15000

mdapi = sf.mdapi
profile = mdapi.Profile.read(PROFILE)
assert profile.fullName == PROFILE
# Record type names are the org's own: take them from what the profile holds.
account = [v for v in profile.recordTypeVisibilities if v.recordType.startswith("Account.") and v.visible]
new_default = next(v.recordType for v in account if not v.default)
# The whole Account block, as the sim replaces an object's block with what is sent.
profile.recordTypeVisibilities = [
    mdapi.ProfileRecordTypeVisibility(recordType=v.recordType, default=v.recordType == new_default, visible=True)
    for v in account
]
mdapi.Profile.update(profile)
defaults = {v.recordType for v in mdapi.Profile.read(PROFILE).recordTypeVisibilities if v.default}
assert new_default in defaults and len(defaults) == 3, defaults
print("simple-salesforce smoke: ok")
