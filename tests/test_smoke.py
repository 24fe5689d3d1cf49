from partnercrmd.testing import ApiSession


async def test_version_answers_without_registration(partnercrmd_client) -> None:  # type: ignore[no-untyped-def]
    response = await partnercrmd_client.get("/api/v1/Version")
    assert response.status == 200
    assert (await response.json())["ProductName"] == "partnercrmd"


async def test_search_finds_sample_contact(api: ApiSession) -> None:
    collections = await api.call("POST", "Search", query="02079460958")
    assert [r["DisplayText"] for r in collections[0]["Records"]] == ["Alice Hartley"]
