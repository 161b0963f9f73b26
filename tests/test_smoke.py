def test_world_builds(world, client_for):
    response = client_for(world.ada).get(f"/o/northwind/alliances/{world.shared.pk}/profile/")
    assert response.status_code == 200
    assert b"Northwind internal secret" in response.content
    assert b"Contoso internal secret" not in response.content
